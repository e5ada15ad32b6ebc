"""ABDM's Fidelius encryption: ECDH on BouncyCastle's "curve25519", HKDF-SHA256, AES-256-GCM.

The HIP encrypts every FHIR document it pushes to an HIU with a fresh key pair and a fresh 32-byte
nonce of its own, against the HIU's public key and nonce from the health-information request
(the scheme of mgrmtech/fidelius-cli, which the ABDM sandbox and most HIUs use):

    xor    = sender_nonce XOR requester_nonce            (32 bytes)
    salt   = xor[:20]; iv = xor[-12:]
    secret = x-coordinate of (own private scalar x peer public point), 32 bytes big-endian
    key    = HKDF-SHA256(secret, length 32, salt, no info)
    data   = base64(AES-256-GCM(key, iv, plaintext) || 16-byte tag)

The curve is BouncyCastle's `CustomNamedCurves` "curve25519": Curve25519 moved to
short-Weierstrass form (x = u + A/3 for the Montgomery u, A = 486662), so the points and the
shared secret are Weierstrass (x, y), not RFC 7748's X25519 u-coordinates. Every value is
encoded at its fixed 32-byte width (a shared secret or coordinate with a leading zero byte keeps
it); keys with the leading zeros dropped, as some implementations send them, are read too.

Keys: a private key is base64 of the big-endian scalar. A public key is read as the raw
uncompressed point `04||X||Y` (65 bytes) or as BouncyCastle's X.509 SubjectPublicKeyInfo with the
curve's parameters spelled out (309 bytes); ours are sent as the latter.
"""

import base64
import binascii
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from ecdsa import der
from ecdsa.curves import Curve
from ecdsa.ellipticcurve import INFINITY, CurveFp, PointJacobi

# BouncyCastle's curve25519 (CustomNamedCurves / math.ec.custom.djb.Curve25519): y^2 = x^3 + ax + b.
P = 2**255 - 19
A = 0x2AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA984914A144
B = 0x7B425ED097B425ED097B425ED097B425ED097B425ED097B4260B5E9C7710C864
GX = 0x2AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAD245A
GY = 0x20AE19A1B8A086B4E01EDD2C7748D14C923D4D7E6D7C61B229E9C5A27ECED3D9
N = 0x1000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED  # the base point's order
H = 8  # cofactor

SIZE = 32  # bytes of a scalar, a coordinate, the shared secret, a nonce and the AES key
NONCE_SIZE = 32
SALT_SIZE = 20
IV_SIZE = 12
TAG_SIZE = 16
RAW_PUBLIC_KEY_SIZE = 1 + 2 * SIZE

_CURVE = CurveFp(P, A, B, H)
_GENERATOR = PointJacobi(_CURVE, GX, GY, 1, N, generator=True)

_EC_PUBLIC_KEY = (1, 2, 840, 10045, 2, 1)  # id-ecPublicKey
_PRIME_FIELD = (1, 2, 840, 10045, 1, 1)  # prime-field
# ECParameters as BouncyCastle writes them for a key whose spec carries no curve name:
# version 1, prime field, a and b as 32-byte octet strings, no seed, the generator
# uncompressed, the order and the cofactor.
_EXPLICIT_PARAMETERS: bytes = Curve("curve25519", _CURVE, _GENERATOR, None).to_der("explicit")
_ALGORITHM = der.encode_sequence(der.encode_oid(*_EC_PUBLIC_KEY), _EXPLICIT_PARAMETERS)


class InvalidKeyMaterial(ValueError):
    """A key or nonce that is not valid base64, has the wrong size or shape, names another
    curve, or is a point that is not on curve25519 (or not in its prime-order subgroup)."""


class DecryptionFailed(ValueError):
    """The data is not base64 of ciphertext and tag, or its tag does not verify (wrong key,
    wrong nonce or altered data)."""


@dataclass(frozen=True)
class KeyPair:
    private_key: str  # base64 of the 32-byte big-endian scalar
    public_key: str  # base64 of the X.509 SubjectPublicKeyInfo with explicit curve parameters


def generate_key_pair() -> KeyPair:
    """A fresh key pair (one per transfer)."""
    return _key_pair(secrets.randbelow(N - 1) + 1)


def key_pair_from_private_key(private_key: str) -> KeyPair:
    """The key pair of a private key (base64 of the scalar), public key in X.509."""
    return _key_pair(_private_scalar(private_key))


def generate_nonce() -> str:
    """A fresh nonce: base64 of 32 random bytes (one per transfer)."""
    return base64.b64encode(secrets.token_bytes(NONCE_SIZE)).decode()


def shared_secret(private_key: str, peer_public_key: str) -> bytes:
    """The x-coordinate of (private scalar x peer's point), 32 bytes big-endian."""
    scalar = _private_scalar(private_key)
    point = _public_point(peer_public_key)
    product = point * scalar
    if product == INFINITY:  # unreachable for 0 < scalar < N and a point of order N
        raise InvalidKeyMaterial("the shared point is the point at infinity")
    return _fixed(product.x())


def encrypt(
    plaintext: bytes,
    *,
    sender_private_key: str,
    sender_nonce: str,
    requester_public_key: str,
    requester_nonce: str,
) -> str:
    """base64(AES-256-GCM ciphertext || tag) of `plaintext`, for the requester (the HIU)."""
    secret = shared_secret(sender_private_key, requester_public_key)
    key, iv = _key_and_iv(secret, sender_nonce, requester_nonce)
    return base64.b64encode(AESGCM(key).encrypt(iv, plaintext, None)).decode()


def decrypt(
    ciphertext: str,
    *,
    requester_private_key: str,
    requester_nonce: str,
    sender_public_key: str,
    sender_nonce: str,
) -> bytes:
    """The plaintext of `encrypt`'s output, read with the requester's private key."""
    secret = shared_secret(requester_private_key, sender_public_key)
    key, iv = _key_and_iv(secret, sender_nonce, requester_nonce)
    try:
        data = base64.b64decode(ciphertext.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecryptionFailed("the encrypted data is not base64") from exc
    if len(data) < TAG_SIZE:
        raise DecryptionFailed("the encrypted data is shorter than its tag")
    try:
        return AESGCM(key).decrypt(iv, data, None)
    except InvalidTag as exc:
        raise DecryptionFailed(
            "the tag does not verify: wrong key or nonce, or altered data"
        ) from exc


# --- internals ------------------------------------------------------------------------------


def _fixed(value: int) -> bytes:
    return int(value).to_bytes(SIZE, "big")


def _key_pair(scalar: int) -> KeyPair:
    point = _GENERATOR * scalar
    return KeyPair(
        private_key=base64.b64encode(_fixed(scalar)).decode(),
        public_key=base64.b64encode(_x509(point)).decode(),
    )


def _x509(point: Any) -> bytes:
    raw = b"\x04" + _fixed(point.x()) + _fixed(point.y())
    return der.encode_sequence(_ALGORITHM, der.encode_bitstring(raw, 0))


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidKeyMaterial(f"the {what} must be a base64 string")
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidKeyMaterial(f"the {what} is not base64") from exc


def _nonce(value: str, what: str) -> bytes:
    nonce = _b64(value, what)
    if len(nonce) != NONCE_SIZE:
        raise InvalidKeyMaterial(f"the {what} must be {NONCE_SIZE} bytes, not {len(nonce)}")
    return nonce


def _key_and_iv(secret: bytes, sender_nonce: str, requester_nonce: str) -> tuple[bytes, bytes]:
    mixed = bytes(
        s ^ r
        for s, r in zip(
            _nonce(sender_nonce, "sender nonce"),
            _nonce(requester_nonce, "requester nonce"),
            strict=True,
        )
    )
    hkdf = HKDF(algorithm=hashes.SHA256(), length=SIZE, salt=mixed[:SALT_SIZE], info=None)
    return hkdf.derive(secret), mixed[-IV_SIZE:]


def _private_scalar(private_key: str) -> int:
    raw = _b64(private_key, "private key")
    # 32 bytes, or fewer when an implementation dropped the scalar's leading zero bytes.
    if not 1 <= len(raw) <= SIZE:
        raise InvalidKeyMaterial(f"the private key must be 1 to {SIZE} bytes, not {len(raw)}")
    scalar = int.from_bytes(raw, "big")
    if not 0 < scalar < N:
        raise InvalidKeyMaterial("the private key is not a scalar between 1 and the curve's order")
    return scalar


def _public_point(public_key: str) -> Any:
    raw = _b64(public_key, "public key")
    if len(raw) == RAW_PUBLIC_KEY_SIZE:
        return _point(raw)
    try:
        return _point(_spki_point(raw))
    except der.UnexpectedDER as exc:
        raise InvalidKeyMaterial(f"the public key is not an X.509 EC public key: {exc}") from exc


def _spki_point(data: bytes) -> bytes:
    """The point's bytes in a SubjectPublicKeyInfo, after checking it names curve25519."""
    spki, rest = der.remove_sequence(data)
    if rest:
        raise InvalidKeyMaterial("the public key has bytes after its X.509 structure")
    algorithm, rest = der.remove_sequence(spki)
    point, tail = der.remove_bitstring(rest, expect_unused=0)
    if tail:
        raise InvalidKeyMaterial("the X.509 public key has fields after its point")
    oid, parameters = der.remove_object(algorithm)
    if oid != _EC_PUBLIC_KEY:
        raise InvalidKeyMaterial("the X.509 public key is not an EC public key")
    _check_parameters(parameters)
    if not isinstance(point, bytes):
        point = bytes(point)
    return point


def _check_parameters(data: bytes) -> None:
    """ECParameters (RFC 3279) that spell out curve25519; a named curve is refused."""
    if not der.is_sequence(data):
        raise InvalidKeyMaterial("the X.509 public key must carry the curve's explicit parameters")
    body, rest = der.remove_sequence(data)
    if rest:
        raise InvalidKeyMaterial("the curve parameters are followed by other fields")
    version, body = der.remove_integer(body)
    field, body = der.remove_sequence(body)
    field_type, field = der.remove_object(field)
    prime, field = der.remove_integer(field)
    curve, body = der.remove_sequence(body)
    a, curve = der.remove_octet_string(curve)
    b, curve = der.remove_octet_string(curve)
    if curve:  # the optional seed
        _seed, curve = der.remove_bitstring(curve, expect_unused=None)
    base, body = der.remove_octet_string(body)
    order, body = der.remove_integer(body)
    cofactor = H
    if body:
        cofactor, body = der.remove_integer(body)
    if version != 1 or field_type != _PRIME_FIELD or field or curve or body:
        raise InvalidKeyMaterial(
            "the curve parameters are not ECParameters version 1 on a prime field"
        )
    if (prime, int.from_bytes(a, "big"), int.from_bytes(b, "big")) != (P, A, B):
        raise InvalidKeyMaterial("the public key is on another curve than curve25519")
    if base != b"\x04" + _fixed(GX) + _fixed(GY) or order != N or cofactor != H:
        raise InvalidKeyMaterial("the curve's generator, order or cofactor is not curve25519's")


def _point(raw: bytes) -> Any:
    """The point `04||X||Y`, checked to be on the curve and of order N."""
    if len(raw) != RAW_PUBLIC_KEY_SIZE or raw[0] != 4:
        raise InvalidKeyMaterial("the public point must be uncompressed: 04, X and Y of 32 bytes")
    x = int.from_bytes(raw[1 : 1 + SIZE], "big")
    y = int.from_bytes(raw[1 + SIZE :], "big")
    if x >= P or y >= P or (y * y - (x * x * x + A * x + B)) % P:
        raise InvalidKeyMaterial("the public point is not on curve25519")
    point = PointJacobi(_CURVE, x, y, 1)
    # As BouncyCastle decodes a point: it must lie in the generator's subgroup (cofactor 8).
    # (A point with y = 0 has order 2; ecdsa's multiplication answers infinity for it at once.)
    if y == 0 or point * N != INFINITY:
        raise InvalidKeyMaterial("the public point is not in curve25519's prime-order subgroup")
    return point
