"""The HIU's side of Fidelius, written apart from the HIP's (Abdm_module.fidelius) so that each
checks the other: a doctor's system decrypts the lab's documents with its own code.

It does ECDH with `cryptography`'s X25519 (RFC 7748's Montgomery ladder on u-coordinates) and
moves points across the birational map to BouncyCastle's short-Weierstrass "curve25519", the
curve ABDM's keys are written on:

    Montgomery  v^2 = u^3 + A u^2 + u            (A = 486662)
    Weierstrass y^2 = x^3 + a x + b,  x = u + A/3,  y = v,
                a = (3 - A^2) / 3,  b = (2 A^3 - 9 A) / 27        (mod p = 2^255 - 19)

so the ABDM shared secret, the Weierstrass x of the product, is X25519's u + A/3. The private
scalar is one X25519 uses as it is (already clamped), and the public key sent in the
health-information request is the Weierstrass point (y recovered by a square root) in the X.509
SubjectPublicKeyInfo with explicit curve parameters that BouncyCastle writes.
"""

import base64
import binascii
import os
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

P = 2**255 - 19
MONTGOMERY_A = 486662
_THIRD = pow(3, -1, P)
A_OVER_3 = MONTGOMERY_A * _THIRD % P
WEIERSTRASS_A = (3 - MONTGOMERY_A**2) * _THIRD % P
WEIERSTRASS_B = (2 * MONTGOMERY_A**3 - 9 * MONTGOMERY_A) * pow(27, -1, P) % P
# RFC 7748, section 4.1: the base point (u, v) = (9, V) and its order.
BASE_U = 9
BASE_V = 14781619447589544791020593568409986887264606134616475288964881837755586237401
ORDER = 2**252 + 0x14DEF9DEA2F79CD65812631A5CF5D3ED
COFACTOR = 8
_SQRT_MINUS_ONE = pow(2, (P - 1) // 4, P)

CRYPTO_ALG = "ECDH"
CURVE = "Curve25519"
PARAMETERS = "Curve25519/32byte random key"


class HiuDecryptionError(ValueError):
    """The sender's key, nonce or data cannot be used, or the tag does not verify."""


# --- a minimal DER writer and reader (only what a SubjectPublicKeyInfo needs) ----------------


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    else:
        size = (n.bit_length() + 7) // 8
        length = bytes([0x80 | size]) + n.to_bytes(size, "big")
    return bytes([tag]) + length + body


def _der_int(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _der_oid(arcs: tuple[int, ...]) -> bytes:
    body = bytes([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return _tlv(0x06, body)


def _seq(*parts: bytes) -> bytes:
    return _tlv(0x30, b"".join(parts))


def _read(data: bytes, tag: int) -> tuple[bytes, bytes]:
    """(body, rest) of one TLV with this tag at the start of `data`."""
    if len(data) < 2 or data[0] != tag:
        raise HiuDecryptionError(f"DER: expected tag {tag:#04x}")
    length, offset = data[1], 2
    if length & 0x80:
        size = length & 0x7F
        if not 0 < size <= 2 or len(data) < 2 + size:
            raise HiuDecryptionError("DER: bad length")
        length, offset = int.from_bytes(data[2 : 2 + size], "big"), 2 + size
    if len(data) < offset + length:
        raise HiuDecryptionError("DER: truncated")
    return data[offset : offset + length], data[offset + length :]


def _w(value: int) -> bytes:
    return value.to_bytes(32, "big")


_BASE_X = (BASE_U + A_OVER_3) % P
_CURVE_PARAMETERS = _seq(
    _der_int(1),
    _seq(_der_oid((1, 2, 840, 10045, 1, 1)), _der_int(P)),
    _seq(_tlv(0x04, _w(WEIERSTRASS_A)), _tlv(0x04, _w(WEIERSTRASS_B))),
    _tlv(0x04, b"\x04" + _w(_BASE_X) + _w(BASE_V)),
    _der_int(ORDER),
    _der_int(COFACTOR),
)
_ALGORITHM = _seq(_der_oid((1, 2, 840, 10045, 2, 1)), _CURVE_PARAMETERS)


def x509_public_key(x: int, y: int) -> bytes:
    """The SubjectPublicKeyInfo of the Weierstrass point (x, y)."""
    return _seq(_ALGORITHM, _tlv(0x03, b"\x00\x04" + _w(x) + _w(y)))


def weierstrass_point(public_key: str) -> tuple[int, int]:
    """(x, y) from a base64 raw point `04||X||Y` or X.509 key, checked to be on the curve."""
    try:
        raw = base64.b64decode(public_key, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise HiuDecryptionError("the sender's public key is not base64") from exc
    if len(raw) != 65:
        spki, rest = _read(raw, 0x30)
        algorithm, spki = _read(spki, 0x30)
        bits, spki = _read(spki, 0x03)
        if rest or spki or _seq(algorithm) != _ALGORITHM:
            raise HiuDecryptionError("the sender's key is not an X.509 key on curve25519")
        if bits[:1] != b"\x00":
            raise HiuDecryptionError("the sender's key has unused bits")
        raw = bits[1:]
    if len(raw) != 65 or raw[0] != 4:
        raise HiuDecryptionError("the sender's point is not uncompressed (04, X, Y)")
    x, y = int.from_bytes(raw[1:33], "big"), int.from_bytes(raw[33:], "big")
    if x >= P or y >= P or (y * y - x**3 - WEIERSTRASS_A * x - WEIERSTRASS_B) % P:
        raise HiuDecryptionError("the sender's point is not on curve25519")
    return x, y


def square_root(value: int) -> int:
    """A square root mod p (p = 5 mod 8), or ValueError."""
    root = pow(value, (P + 3) // 8, P)
    if root * root % P != value % P:
        root = root * _SQRT_MINUS_ONE % P
    if root * root % P != value % P:
        raise ValueError("not a square")
    return root


def clamp(scalar: bytes) -> bytes:
    """RFC 7748's clamping of a 32-byte little-endian scalar (X25519 uses it unchanged)."""
    k = bytearray(scalar)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    return bytes(k)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class HiuKeys:
    """One health-information request's key material: a key pair and a nonce."""

    def __init__(self, scalar: bytes, nonce: bytes, expiry: datetime) -> None:
        if len(scalar) != 32 or clamp(scalar) != scalar:
            raise ValueError("the scalar must be 32 clamped little-endian bytes")
        if len(nonce) != 32:
            raise ValueError("the nonce must be 32 bytes")
        self._private = X25519PrivateKey.from_private_bytes(scalar)
        self.nonce = nonce
        self.expiry = expiry
        u = int.from_bytes(self._private.public_key().public_bytes_raw(), "little")
        self.x = (u + A_OVER_3) % P
        self.y = square_root(self.x**3 + WEIERSTRASS_A * self.x + WEIERSTRASS_B)

    @classmethod
    def generate(cls, expiry: datetime) -> "HiuKeys":
        return cls(clamp(os.urandom(32)), os.urandom(32), expiry)

    @property
    def public_key(self) -> str:
        """base64 of the X.509 public key (what goes into dhPublicKey.keyValue)."""
        return base64.b64encode(x509_public_key(self.x, self.y)).decode()

    @property
    def nonce_b64(self) -> str:
        return base64.b64encode(self.nonce).decode()

    def key_material(self) -> dict[str, object]:
        return {
            "cryptoAlg": CRYPTO_ALG,
            "curve": CURVE,
            "dhPublicKey": {
                "expiry": _iso(self.expiry),
                "parameters": PARAMETERS,
                "keyValue": self.public_key,
            },
            "nonce": self.nonce_b64,
        }

    def shared_secret(self, sender_public_key: str) -> bytes:
        """The Weierstrass x of (own scalar x sender's point), 32 bytes big-endian."""
        x, _y = weierstrass_point(sender_public_key)
        u = (x - A_OVER_3) % P
        try:
            shared_u = self._private.exchange(
                X25519PublicKey.from_public_bytes(u.to_bytes(32, "little"))
            )
        except ValueError as exc:  # an all-zero result: a point of small order
            raise HiuDecryptionError("the sender's point is of small order") from exc
        return _w((int.from_bytes(shared_u, "little") + A_OVER_3) % P)

    def decrypt(self, content: str, sender_public_key: str, sender_nonce: str) -> bytes:
        try:
            nonce = base64.b64decode(sender_nonce, validate=True)
            data = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise HiuDecryptionError("the nonce or the content is not base64") from exc
        if len(nonce) != 32:
            raise HiuDecryptionError("the sender's nonce is not 32 bytes")
        mixed = bytes(a ^ b for a, b in zip(nonce, self.nonce, strict=True))
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=mixed[:20], info=None).derive(
            self.shared_secret(sender_public_key)
        )
        try:
            return AESGCM(key).decrypt(mixed[-12:], data, None)
        except InvalidTag as exc:
            raise HiuDecryptionError("the tag does not verify") from exc
