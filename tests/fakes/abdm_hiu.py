"""A local HIU (a doctor's system) that receives the lab's health-information push.

The test tells it which transaction to expect (`expect` makes the key material the test puts in
the health-information request); on `POST /data/push` it decrypts every entry with its own
Fidelius implementation (tests.fakes.fidelius_hiu), checks the entry's checksum (lower-case hex
MD5 of the decrypted document), validates the document as a FHIR R4B Bundle whose references all
resolve inside it, and records what it got in `pushes`. 202 when everything holds, 400 with the
problems otherwise, 404 for a transaction it was not told about.

(care_abdm sends an empty checksum and ABDM-wrapper the word "string": neither computes one, and
no HIU among them checks it; this fake holds the HIP to the v0.5 text, MD5 of the content before
encryption.)
"""

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from tests.fakes.fidelius_hiu import CRYPTO_ALG, CURVE, HiuDecryptionError, HiuKeys
from tests.fakes.server import FakeResponse, FakeServer, RecordedRequest

PUSH_PATH = "/data/push"
FHIR_JSON = "application/fhir+json"
X509_KEY_SIZE = 309  # BouncyCastle's SubjectPublicKeyInfo with explicit curve25519 parameters
# Type/id, or Type/id/_history/version
RELATIVE_REFERENCE = re.compile(
    r"^(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(/_history/.+)?$"
)


@dataclass
class ReceivedPush:
    """One POST to the push URL for a known transaction: the documents that decrypted and
    parsed (valid or not), every entry's care context, and everything found wrong."""

    transaction_id: str
    documents: list[dict[str, Any]] = field(default_factory=list)
    care_context_references: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    page_number: int | None = None
    page_count: int | None = None
    sender_key_material: dict[str, Any] = field(default_factory=dict)


def _decoded_size(value: str) -> int | None:
    try:
        return len(base64.b64decode(value, validate=True))
    except ValueError:  # binascii.Error; the decryption says what is wrong
        return None


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


def _error(status: int, code: str, message: str, problems: list[str] | None = None) -> FakeResponse:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if problems is not None:
        body["problems"] = problems
    return FakeResponse(status, body)


def unresolved_references(bundle: dict[str, Any]) -> list[str]:
    """The references in the bundle that name no entry of it (`urn:uuid:` or other fullUrls,
    `Type/id`, `#id` of a contained resource)."""
    full_urls: set[str] = set()
    local: set[tuple[str, str]] = set()
    for entry in bundle.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("fullUrl"), str):
            full_urls.add(entry["fullUrl"])
        resource = entry.get("resource")
        if isinstance(resource, dict) and isinstance(resource.get("id"), str):
            local.add((str(resource.get("resourceType")), resource["id"]))
    missing: list[str] = []

    def walk(node: Any, contained: set[str]) -> None:
        if isinstance(node, dict):
            inner = {
                c["id"] for c in node.get("contained") or [] if isinstance(c, dict) and "id" in c
            }
            contained = contained | inner
            for key, value in node.items():
                if key == "reference" and isinstance(value, str):
                    if not _resolves(value, full_urls, local, contained):
                        missing.append(value)
                else:
                    walk(value, contained)
        elif isinstance(node, list):
            for item in node:
                walk(item, contained)

    for entry in bundle.get("entry") or []:
        if isinstance(entry, dict):
            walk(entry.get("resource"), set())
    return missing


def _resolves(
    reference: str, full_urls: set[str], local: set[tuple[str, str]], contained: set[str]
) -> bool:
    if reference.startswith("#"):
        return reference[1:] in contained
    if reference in full_urls:
        return True
    match = RELATIVE_REFERENCE.match(reference)
    if match is None:
        return False
    if (match["type"], match["id"]) in local:
        return True
    suffix = f"/{match['type']}/{match['id']}"
    return any(url.endswith(suffix) for url in full_urls)


def check_document(data: bytes) -> tuple[dict[str, Any] | None, list[str]]:
    """The document parsed, and what is wrong with it as a FHIR R4B Bundle."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        return None, [f"not JSON: {exc}"]
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        return None, ["not a FHIR Bundle"]
    problems: list[str] = []
    try:
        Bundle.model_validate(document)
    except ValidationError as exc:
        problems.extend(
            f"invalid Bundle at {'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
    problems.extend(f"unresolved reference {ref!r}" for ref in unresolved_references(document))
    return document, problems


class FakeAbdmHiu(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.keys: dict[str, HiuKeys] = {}
        self.pushes: list[ReceivedPush] = []

    @property
    def push_url(self) -> str:
        return self.url + PUSH_PATH

    def expect(self, transaction_id: str, *, expiry: datetime) -> dict[str, Any]:
        """Key material for this transaction's health-information request."""
        keys = HiuKeys.generate(expiry)
        with self.lock:
            self.keys[transaction_id] = keys
        return keys.key_material()

    def pushes_for(self, transaction_id: str) -> list[ReceivedPush]:
        with self.lock:
            return [push for push in self.pushes if push.transaction_id == transaction_id]

    def reset(self) -> None:
        with self.lock:
            self.keys.clear()
            self.pushes.clear()
        super().reset()

    def respond(self, request: RecordedRequest) -> FakeResponse:
        if request.path != PUSH_PATH:
            return _error(404, "not_found", f"no route {request.path}")
        if request.method != "POST":
            return _error(405, "method_not_allowed", "POST only")
        try:
            body = request.json()
        except (UnicodeDecodeError, ValueError):
            return _error(400, "bad_request", "the body is not JSON", ["the body is not JSON"])
        if not isinstance(body, dict) or not isinstance(body.get("transactionId"), str):
            return _error(400, "bad_request", "no transactionId", ["no transactionId"])
        transaction_id = body["transactionId"]
        with self.lock:
            keys = self.keys.get(transaction_id)
        if keys is None:
            return _error(404, "unknown_transaction", f"no transaction {transaction_id}")
        push = self._receive(keys, transaction_id, body)
        with self.lock:
            self.pushes.append(push)
        if push.problems:
            return _error(400, "invalid_push", "; ".join(push.problems), push.problems)
        return FakeResponse(202, None)

    def _receive(self, keys: HiuKeys, transaction_id: str, body: dict[str, Any]) -> ReceivedPush:
        push = ReceivedPush(transaction_id)
        problems = push.problems
        push.page_number = _positive(body.get("pageNumber"))
        push.page_count = _positive(body.get("pageCount"))
        if push.page_number is None or push.page_count is None:
            problems.append("pageNumber and pageCount must be positive integers")
        elif push.page_number > push.page_count:
            problems.append(f"pageNumber {push.page_number} is after pageCount {push.page_count}")
        material = body.get("keyMaterial")
        if not isinstance(material, dict):
            problems.append("no keyMaterial")
            return push
        push.sender_key_material = material
        if material.get("cryptoAlg") != CRYPTO_ALG or material.get("curve") != CURVE:
            problems.append(f"keyMaterial must be {CRYPTO_ALG} on {CURVE}")
        dh = material.get("dhPublicKey")
        sender_key = dh.get("keyValue") if isinstance(dh, dict) else None
        sender_nonce = material.get("nonce")
        if not isinstance(sender_key, str) or not isinstance(sender_nonce, str):
            problems.append("keyMaterial needs dhPublicKey.keyValue and nonce")
            return push
        if _decoded_size(sender_key) != X509_KEY_SIZE:
            problems.append("dhPublicKey.keyValue is not an X.509 key with explicit parameters")
        expiry = dh.get("expiry") if isinstance(dh, dict) else None
        try:
            datetime.fromisoformat(str(expiry))
        except ValueError:
            problems.append(f"dhPublicKey.expiry {expiry!r} is not an ISO 8601 time")
        entries = body.get("entries")
        if not isinstance(entries, list) or not entries:
            problems.append("no entries")
            return push
        for index, entry in enumerate(entries):
            self._entry(keys, index, entry, sender_key, sender_nonce, push)
        return push

    def _entry(
        self,
        keys: HiuKeys,
        index: int,
        entry: Any,
        sender_key: str,
        sender_nonce: str,
        push: ReceivedPush,
    ) -> None:
        problems = push.problems
        if not isinstance(entry, dict):
            problems.append(f"entry {index}: not an object")
            return
        reference = entry.get("careContextReference")
        if isinstance(reference, str) and reference:
            push.care_context_references.append(reference)
        else:
            problems.append(f"entry {index}: no careContextReference")
        if entry.get("media") != FHIR_JSON:
            problems.append(f"entry {index}: media {entry.get('media')!r} is not {FHIR_JSON}")
        content = entry.get("content")
        if not isinstance(content, str):
            problems.append(f"entry {index}: no content (a link is not supported here)")
            return
        try:
            data = keys.decrypt(content, sender_key, sender_nonce)
        except HiuDecryptionError as exc:
            problems.append(f"entry {index}: cannot be decrypted: {exc}")
            return
        expected = hashlib.md5(data, usedforsecurity=False).hexdigest()
        checksum = entry.get("checksum")
        if checksum != expected:
            problems.append(
                f"entry {index}: checksum {checksum!r} is not the document's MD5 {expected}"
            )
        document, document_problems = check_document(data)
        if document is not None:
            push.documents.append(document)
        problems.extend(f"entry {index}: {problem}" for problem in document_problems)


@pytest.fixture(scope="session")
def abdm_hiu_server() -> Iterator[FakeAbdmHiu]:
    server = FakeAbdmHiu()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def abdm_hiu(abdm_hiu_server: FakeAbdmHiu) -> FakeAbdmHiu:
    """The local HIU, emptied of expected transactions, pushes and requests."""
    abdm_hiu_server.reset()
    return abdm_hiu_server
