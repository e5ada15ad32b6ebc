"""Third parties' tokens at rest (Google OAuth tokens, ABDM link tokens): Fernet-sealed with
TOKEN_ENCRYPTION_KEY (outside production, one derived from SECRET_KEY)."""

from cryptography.fernet import Fernet, InvalidToken

from config import get_settings


class TokenDecryptionError(Exception):
    """A stored token no longer decrypts (TOKEN_ENCRYPTION_KEY changed)."""


def _fernet() -> Fernet:
    return Fernet(get_settings().token_encryption_key)


def encrypt_token(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt_token(value: str) -> str:
    try:
        return _fernet().decrypt(value.encode()).decode()
    except InvalidToken as exc:
        raise TokenDecryptionError() from exc
