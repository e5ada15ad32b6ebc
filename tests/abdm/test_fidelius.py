"""Abdm_module.fidelius: fidelius-cli's published vector, fixed-width values, the HIU's own
implementation (tests.fakes.fidelius_hiu) reading what the HIP writes, and malformed keys."""

import base64
import hashlib
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from Abdm_module import fidelius
from Abdm_module.fidelius import DecryptionFailed, InvalidKeyMaterial
from tests.fakes.fidelius_hiu import HiuKeys, clamp, square_root, x509_public_key

# The README of mgrmtech/fidelius-cli (BouncyCastle 1.71): the requester's (HIU's) and the
# sender's (HIP's) key material, and the sender's encryption of the message.
REQUESTER_PRIVATE = "DMxHPri8d7IT23KgLk281zZenMfVHSdeamq0RhwlIBk="
REQUESTER_PUBLIC = (
    "BAheD5rUqTy4V5xR4/6HWmYpopu5CO+KO8BECS0udNqUTSNo91TIqIIy1A4Vh+F94c+n9vAcwXU2bGcfsI5f69Y="
)
REQUESTER_X509 = (
    "MIIBMTCB6gYHKoZIzj0CATCB3gIBATArBgcqhkjOPQEBAiB/////////////////////////////////////////"
    "7TBEBCAqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqYSRShRAQge0Je0Je0Je0Je0Je0Je0Je0Je0Je0Je0Jgte"
    "nHcQyGQEQQQqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq0kWiCuGaG4oIa04B7dLHdI0UySPU1+bXxhsinp"
    "xaJ+ztPZAiAQAAAAAAAAAAAAAAAAAAAAFN753qL3nNZYEmMaXPXT7QIBCANCAAQIXg+a1Kk8uFecUeP+h1pmKaKb"
    "uQjvijvARAktLnTalE0jaPdUyKiCMtQOFYfhfeHPp/bwHMF1NmxnH7COX+vW"
)
REQUESTER_NONCE = "6uj1RdDUbcpI3lVMZvijkMC8Te20O4Bcyz0SyivX8Eg="
SENDER_PRIVATE = "AYhVZpbVeX4KS5Qm/W0+9Ye2q3rnVVGmqRICmseWni4="
# X begins with a zero byte: 04 00 55 b7 ...
SENDER_PUBLIC = (
    "BABVt+mpRLMXiQpIfEq6bj8hlXsdtXIxLsspmMgLNI1SR5mHgDVbjHO2A+U4QlMddGzqyEidzm1AkhtSxSO2Ahg="
)
SENDER_X509 = (
    "MIIBMTCB6gYHKoZIzj0CATCB3gIBATArBgcqhkjOPQEBAiB/////////////////////////////////////////"
    "7TBEBCAqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqYSRShRAQge0Je0Je0Je0Je0Je0Je0Je0Je0Je0Je0Jgte"
    "nHcQyGQEQQQqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq0kWiCuGaG4oIa04B7dLHdI0UySPU1+bXxhsinp"
    "xaJ+ztPZAiAQAAAAAAAAAAAAAAAAAAAAFN753qL3nNZYEmMaXPXT7QIBCANCAAQAVbfpqUSzF4kKSHxKum4/IZV7"
    "HbVyMS7LKZjICzSNUkeZh4A1W4xztgPlOEJTHXRs6shInc5tQJIbUsUjtgIY"
)
SENDER_NONCE = "lmXgblZwotx+DfBgKJF0lZXtAXgBEYr5khh79Zytr2Y="
MESSAGE = b"Wormtail should never have been Potter cottage's secret keeper."
ENCRYPTED = (
    "pzMvVZNNVtJzqPkkxcCbBUWgDEBy/mBXIeT2dJWI16ZAQnnXUb9lI+S4k8XK6mgZSKKSRIHkcNvJpllnBg548wUgavBa0v"
    "CRRwdL6kY6Yw=="
)
# The shared secret of the two README key pairs, computed once and kept as a known answer.
README_SECRET = "1d96dcf5ae21f6430045e20b37956dbdb4981d64297c872b67da561e5419507b"

EXPIRY = datetime(2030, 1, 1, tzinfo=UTC)
# An HIU key pair and nonce made from fixed bytes, and the HIP scalar that meets it in a shared
# secret whose first byte is zero: the first of HIP_BASE + 0, 1, 2, ... (169 tries) that does.
HIU_SCALAR = clamp(hashlib.sha256(b"hiu").digest())
HIU_NONCE = hashlib.sha256(b"hiu nonce").digest()
HIP_BASE = int.from_bytes(hashlib.sha256(b"hip").digest(), "big") % fidelius.N
HIP_OFFSET = 168
ZERO_LED_SECRET = "00c2876cc07fd4c3bc2860c9ae6ac4741feb27a8fefcdab74b29dcf0f52c2ef8"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def raw_point(x: int, y: int) -> str:
    return b64(b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big"))


def scalar_key(scalar: int, width: int = 32) -> str:
    return b64(scalar.to_bytes(width, "big"))


def x509_of(public_key: str) -> bytes:
    """BouncyCastle's SubjectPublicKeyInfo of a raw point: its 244 bytes of header and curve
    parameters (the same in every README key), then the point."""
    return base64.b64decode(SENDER_X509)[:-65] + base64.b64decode(public_key)


def test_the_readme_vector_decrypts_with_raw_and_x509_sender_keys() -> None:
    for sender_key in (SENDER_PUBLIC, SENDER_X509):
        plaintext = fidelius.decrypt(
            ENCRYPTED,
            requester_private_key=REQUESTER_PRIVATE,
            requester_nonce=REQUESTER_NONCE,
            sender_public_key=sender_key,
            sender_nonce=SENDER_NONCE,
        )
        assert plaintext == MESSAGE


def test_the_readme_vector_encrypts_to_the_published_data() -> None:
    for requester_key in (REQUESTER_PUBLIC, REQUESTER_X509):
        encrypted = fidelius.encrypt(
            MESSAGE,
            sender_private_key=SENDER_PRIVATE,
            sender_nonce=SENDER_NONCE,
            requester_public_key=requester_key,
            requester_nonce=REQUESTER_NONCE,
        )
        assert encrypted == ENCRYPTED


def test_the_readme_shared_secret_is_the_known_answer_from_both_sides() -> None:
    assert fidelius.shared_secret(REQUESTER_PRIVATE, SENDER_PUBLIC).hex() == README_SECRET
    assert fidelius.shared_secret(SENDER_PRIVATE, REQUESTER_PUBLIC).hex() == README_SECRET


def test_public_keys_are_written_as_bouncycastle_writes_them() -> None:
    """The README's x509PublicKey values, byte for byte (309 bytes, explicit parameters); the
    HIU's own DER writer agrees."""
    for private, public, x509 in (
        (REQUESTER_PRIVATE, REQUESTER_PUBLIC, REQUESTER_X509),
        (SENDER_PRIVATE, SENDER_PUBLIC, SENDER_X509),
    ):
        pair = fidelius.key_pair_from_private_key(private)
        assert pair == fidelius.KeyPair(private_key=private, public_key=x509)
        assert len(base64.b64decode(x509)) == 309
        assert x509_of(public) == base64.b64decode(x509)
        point = base64.b64decode(public)
        x, y = int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:], "big")
        assert x509_public_key(x, y) == base64.b64decode(x509)


def test_generated_keys_and_nonces_have_fixed_widths_and_round_trip() -> None:
    hip, hiu = fidelius.generate_key_pair(), fidelius.generate_key_pair()
    assert len(base64.b64decode(hip.private_key)) == 32
    assert len(base64.b64decode(hip.public_key)) == 309
    assert hip != hiu
    hip_nonce, hiu_nonce = fidelius.generate_nonce(), fidelius.generate_nonce()
    assert len(base64.b64decode(hip_nonce)) == 32 and hip_nonce != hiu_nonce
    secret = fidelius.shared_secret(hip.private_key, hiu.public_key)
    assert len(secret) == 32 and secret == fidelius.shared_secret(hiu.private_key, hip.public_key)
    document = '{"resourceType": "Bundle", "note": "ü"}'.encode()
    encrypted = fidelius.encrypt(
        document,
        sender_private_key=hip.private_key,
        sender_nonce=hip_nonce,
        requester_public_key=hiu.public_key,
        requester_nonce=hiu_nonce,
    )
    assert len(base64.b64decode(encrypted)) == len(document) + 16
    plaintext = fidelius.decrypt(
        encrypted,
        requester_private_key=hiu.private_key,
        requester_nonce=hiu_nonce,
        sender_public_key=hip.public_key,
        sender_nonce=hip_nonce,
    )
    assert plaintext == document


def test_the_hiu_implementation_decrypts_what_the_hip_encrypts() -> None:
    hiu = HiuKeys.generate(EXPIRY)
    hip, hip_nonce = fidelius.generate_key_pair(), fidelius.generate_nonce()
    material = hiu.key_material()
    encrypted = fidelius.encrypt(
        b"a lab report",
        sender_private_key=hip.private_key,
        sender_nonce=hip_nonce,
        requester_public_key=material["dhPublicKey"]["keyValue"],  # type: ignore[index]
        requester_nonce=material["nonce"],  # type: ignore[arg-type]
    )
    assert hiu.decrypt(encrypted, hip.public_key, hip_nonce) == b"a lab report"
    assert hiu.shared_secret(hip.public_key) == fidelius.shared_secret(
        hip.private_key, hiu.public_key
    )


def test_a_shared_secret_with_a_leading_zero_byte_keeps_its_32_bytes() -> None:
    hiu = HiuKeys(HIU_SCALAR, HIU_NONCE, EXPIRY)
    hip = fidelius.key_pair_from_private_key(scalar_key(HIP_BASE + HIP_OFFSET))
    secret = fidelius.shared_secret(hip.private_key, hiu.public_key)
    assert secret.hex() == ZERO_LED_SECRET and secret[0] == 0 and len(secret) == 32
    assert hiu.shared_secret(hip.public_key) == secret
    # The HIU's clamped scalar read as a Weierstrass scalar (mod the order) meets the HIP's key
    # in the same secret, so the HIP's decrypt reads what it encrypts for this HIU.
    hiu_private = scalar_key(int.from_bytes(HIU_SCALAR, "little") % fidelius.N)
    assert fidelius.shared_secret(hiu_private, hip.public_key) == secret
    hip_nonce = b64(hashlib.sha256(b"hip nonce").digest())
    encrypted = fidelius.encrypt(
        MESSAGE,
        sender_private_key=hip.private_key,
        sender_nonce=hip_nonce,
        requester_public_key=hiu.public_key,
        requester_nonce=hiu.nonce_b64,
    )
    assert hiu.decrypt(encrypted, hip.public_key, hip_nonce) == MESSAGE
    assert (
        fidelius.decrypt(
            encrypted,
            requester_private_key=hiu_private,
            requester_nonce=hiu.nonce_b64,
            sender_public_key=hip.public_key,
            sender_nonce=hip_nonce,
        )
        == MESSAGE
    )


def test_private_keys_without_their_leading_zero_bytes_are_read() -> None:
    """fidelius-cli (BigInteger.toByteArray) and care_abdm write a scalar in as few bytes as it
    takes; the same scalar in 32 bytes gives the same secret."""
    scalar = 0x1234  # two bytes
    short, full = scalar_key(scalar, 2), scalar_key(scalar)
    assert fidelius.shared_secret(short, REQUESTER_PUBLIC) == fidelius.shared_secret(
        full, REQUESTER_PUBLIC
    )
    assert fidelius.key_pair_from_private_key(short).private_key == full


def _off_subgroup_point() -> tuple[int, int]:
    """A point on the curve outside the generator's subgroup (almost every point is)."""
    x = fidelius.GX + 1
    while True:
        try:
            y = square_root(x**3 + fidelius.A * x + fidelius.B)
        except ValueError:
            x += 1
            continue
        return x, y


def _spki_with(parameters_change: tuple[bytes, bytes]) -> str:
    old, new = parameters_change
    der = x509_of(SENDER_PUBLIC)
    assert der.count(old) == 1
    return b64(der.replace(old, new))


def _other_curve_keys() -> list[str]:
    p256 = ec.generate_private_key(ec.SECP256R1()).public_key()
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return [b64(p256.public_bytes(*spki)), b64(rsa_key.public_bytes(*spki))]


B_BYTES = fidelius.B.to_bytes(32, "big")
N_BYTES = fidelius.N.to_bytes(32, "big")
SENDER_POINT = base64.b64decode(SENDER_PUBLIC)


def malformed_public_keys() -> list[tuple[str, str, str]]:
    """(what, the key, the reason given)."""
    x = int.from_bytes(SENDER_POINT[1:33], "big")
    y = int.from_bytes(SENDER_POINT[33:], "big")
    off_x, off_y = _off_subgroup_point()
    der = x509_of(SENDER_PUBLIC)
    p256, rsa_key = _other_curve_keys()
    not_x509 = "not an X.509 EC public key"
    off_curve = "not on curve25519"
    return [
        ("not base64", "not base64!", "not base64"),
        ("empty", "", not_x509),
        ("compressed prefix", b64(b"\x02" + SENDER_POINT[1:]), "must be uncompressed"),
        ("a point off the curve", raw_point(x, y + 1), off_curve),
        ("x not below p", raw_point(x + fidelius.P, y), off_curve),
        ("a point of order two", raw_point(_two_torsion_x(), 0), "subgroup"),
        ("a point outside the subgroup", raw_point(off_x, off_y), "subgroup"),
        ("64 bytes (X's leading zero dropped)", b64(SENDER_POINT[:1] + SENDER_POINT[2:]), not_x509),
        (
            "another curve's b",
            _spki_with((B_BYTES, bytes([B_BYTES[0] ^ 1]) + B_BYTES[1:])),
            "another curve",
        ),
        (
            "another order",
            _spki_with((N_BYTES, N_BYTES[:-1] + bytes([N_BYTES[-1] ^ 2]))),
            "order or cofactor",
        ),
        ("truncated X.509", b64(der[:-1]), not_x509),
        ("X.509 with trailing bytes", b64(der + b"\x00"), "bytes after"),
        ("X.509 with a point off the curve", b64(der[:-1] + bytes([der[-1] ^ 1])), off_curve),
        ("a named P-256 key", p256, "explicit parameters"),
        ("an RSA key", rsa_key, "not an EC public key"),
    ]


def _two_torsion_x() -> int:
    """The x of the point (A/3 in Montgomery's u = 0) whose y is zero."""
    return 486662 * pow(3, -1, fidelius.P) % fidelius.P


@pytest.mark.parametrize(
    ("public_key", "reason"),
    [pytest.param(key, reason, id=label) for label, key, reason in malformed_public_keys()],
)
def test_malformed_public_keys_are_refused(public_key: str, reason: str) -> None:
    with pytest.raises(InvalidKeyMaterial, match=reason):
        fidelius.shared_secret(SENDER_PRIVATE, public_key)
    with pytest.raises(InvalidKeyMaterial):
        fidelius.encrypt(
            MESSAGE,
            sender_private_key=SENDER_PRIVATE,
            sender_nonce=SENDER_NONCE,
            requester_public_key=public_key,
            requester_nonce=REQUESTER_NONCE,
        )


@pytest.mark.parametrize(
    "private_key",
    [
        "",
        "not base64!",
        scalar_key(0),
        scalar_key(fidelius.N),
        b64(b"\x00" * 33),
        b64(b"\x01" * 33),
    ],
    ids=["empty", "not-base64", "zero", "the-order", "33-zero-bytes", "33-bytes"],
)
def test_malformed_private_keys_are_refused(private_key: str) -> None:
    with pytest.raises(InvalidKeyMaterial):
        fidelius.shared_secret(private_key, REQUESTER_PUBLIC)


@pytest.mark.parametrize(
    "nonce",
    ["not base64!", b64(b"\x01" * 16), b64(b"\x01" * 33)],
    ids=["not-base64", "16-bytes", "33-bytes"],
)
def test_malformed_nonces_are_refused(nonce: str) -> None:
    with pytest.raises(InvalidKeyMaterial):
        fidelius.encrypt(
            MESSAGE,
            sender_private_key=SENDER_PRIVATE,
            sender_nonce=nonce,
            requester_public_key=REQUESTER_PUBLIC,
            requester_nonce=REQUESTER_NONCE,
        )


def test_the_wrong_nonce_key_or_data_fails_to_decrypt() -> None:
    arguments = {
        "requester_private_key": REQUESTER_PRIVATE,
        "requester_nonce": REQUESTER_NONCE,
        "sender_public_key": SENDER_PUBLIC,
        "sender_nonce": SENDER_NONCE,
    }
    wrong_nonce = fidelius.generate_nonce()
    other_key = fidelius.generate_key_pair().public_key
    data = bytearray(base64.b64decode(ENCRYPTED))
    data[0] ^= 1
    for changes, encrypted in (
        ({"sender_nonce": wrong_nonce}, ENCRYPTED),
        ({"requester_nonce": wrong_nonce}, ENCRYPTED),
        ({"sender_public_key": other_key}, ENCRYPTED),
        ({}, b64(bytes(data))),
        ({}, b64(b"short")),
        ({}, "not base64!"),
    ):
        with pytest.raises(DecryptionFailed):
            fidelius.decrypt(encrypted, **{**arguments, **changes})
