"""A paid order whose tests are in the lab, PDFs to upload, and a look at the raw stored objects
(a local folder or the S3 test server) behind the app's back."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.fakes.s3 import s3_client
from tests.support.login import LoggedIn
from tests.support.orders import Shopper, checkout, make_shop, pay, shopper

TO_THE_LAB = ("sample_collection_scheduled", "sample_collected", "in_lab")


def pdf(text: str = "Report") -> bytes:
    """A small, whole PDF (one page with `text`)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@dataclass
class Stored:
    """The raw objects of the configured backend, as a thief of the disk or bucket sees them."""

    backend: str
    root: Path
    endpoint: str | None = None
    bucket: str | None = None

    def objects(self) -> dict[str, bytes]:
        if self.backend == "local":
            return {
                path.relative_to(self.root).as_posix(): path.read_bytes()
                for path in self.root.rglob("*")
                if path.is_file()
            }
        client = s3_client(self.endpoint)
        listing = client.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        return {
            item["Key"]: client.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read()
            for item in listing
        }


@dataclass
class InLab:
    buyer: Shopper
    order: dict[str, Any]

    @property
    def item_ids(self) -> list[int]:
        return [item["id"] for item in self.order["items"]]


def move_item(client: TestClient, admin: LoggedIn, order_id: int, item_id: int, status: str) -> Any:
    return client.put(
        f"/orders/{order_id}/items/{item_id}/status",
        json={"status": status},
        headers=admin.headers,
    )


def paid_order(
    client: TestClient, db: Session, phone: str, *, members: int = 1
) -> tuple[Shopper, dict[str, Any]]:
    shop = make_shop(db)
    product = shop.couple if members == 2 else shop.single
    buyer = shopper(client, db, phone, product, members=members)
    placed = checkout(client, buyer)
    assert placed.status_code == 201, placed.text
    paid = pay(client, buyer, placed.json())
    assert paid.status_code == 200, paid.text
    return buyer, paid.json()


def in_lab(
    client: TestClient, db: Session, admin: LoggedIn, phone: str, *, members: int = 1
) -> InLab:
    """A paid order whose every sample is in the lab."""
    buyer, order = paid_order(client, db, phone, members=members)
    for item in order["items"]:
        for status in TO_THE_LAB:
            moved = move_item(client, admin, order["id"], item["id"], status)
            assert moved.status_code == 200, moved.text
    return InLab(buyer, client.get(f"/orders/{order['id']}", headers=buyer.headers).json())


def upload(
    client: TestClient,
    admin: LoggedIn,
    order_id: int,
    item_id: int,
    content: bytes | None = None,
    *,
    note: str | None = None,
    filename: str = "report.pdf",
    content_type: str = "application/pdf",
) -> Any:
    return client.post(
        f"/orders/admin/{order_id}/items/{item_id}/report",
        headers=admin.headers,
        files={"file": (filename, pdf() if content is None else content, content_type)},
        data={} if note is None else {"note": note},
    )


def download(
    client: TestClient,
    who: LoggedIn | Shopper,
    order_id: int,
    item_id: int,
    version: int | None = None,
) -> Any:
    query = "" if version is None else f"?version={version}"
    return client.get(f"/orders/{order_id}/items/{item_id}/report{query}", headers=who.headers)
