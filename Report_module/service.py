"""Storing, listing and reading lab reports; their part of the data export and the erasure.

An upload is one transaction: the order row locked, the item moved by Orders' state machine
(`record_report_uploaded`), the sealed file written, the version row and its audit entry. The
file is written before the commit and deleted if the transaction rolls back, so a row never
points at nothing and no file is left without its row.
"""

import hashlib
import logging
import uuid
from dataclasses import dataclass
from enum import StrEnum
from io import BytesIO
from typing import Any

from pypdf import PdfReader
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from Audit_module.service import record_audit
from config import get_settings
from core.clock import utcnow
from core.hooks import Hook
from core.rate_limit import hit_sliding_window
from core.storage import (
    StorageUnavailable,
    StoredFileUnreadable,
    delete_quietly,
    get_sealed_storage,
    get_storage,
    read_verified,
)
from database import on_commit, on_rollback
from Orders_module.admin import record_report_uploaded
from Orders_module.models import Order, OrderItem
from Orders_module.service import get_order, order_item
from Report_module.errors import (
    InvalidReportFile,
    NotAPdf,
    ReportErased,
    ReportNotFound,
    ReportNotReady,
    ReportTooLarge,
    ReportUnreadable,
)
from Report_module.models import Report

logger = logging.getLogger("nucleotide.reports")

# A report version was stored (in the upload's transaction): ABDM links it to the member's ABHA.
report_stored = Hook[[Session, Order, Report]]("report_stored")

PDF_MAGIC = b"%PDF-"
DOWNLOAD_WINDOW_SECONDS = 3600


def check_pdf(content: bytes) -> None:
    """A PDF by its bytes (the name and the declared type are the client's word): it must start
    as one (else `unsupported_report_type`) and open as one with at least one page (pypdf;
    else `invalid_report_file`), so a header stuck on other bytes is never a customer's report."""
    if len(content) > get_settings().MAX_REPORT_BYTES:
        raise ReportTooLarge()
    if not content.startswith(PDF_MAGIC):
        raise NotAPdf()
    try:
        # Lenient (real lab PDFs have small defects), but the page tree must resolve.
        reader = PdfReader(BytesIO(content), strict=False)
        if len(reader.pages) < 1:
            raise InvalidReportFile()
        reader.pages[0].mediabox  # noqa: B018 - the first page must load
    except InvalidReportFile:
        raise
    except Exception as exc:  # pypdf raises many kinds on a broken file; all mean "not a PDF"
        raise InvalidReportFile() from exc


def _storage_key(order_id: int, item_id: int, version: int) -> str:
    # Random so that a file left by a failed clean-up can never be taken for a later version.
    return f"reports/{order_id}/{item_id}/v{version}-{uuid.uuid4().hex}.pdf.sealed"


def upload_report(
    db: Session, order_id: int, item_id: int, content: bytes, note: str | None, admin_id: int
) -> Report:
    check_pdf(content)
    order = get_order(db, order_id, for_update=True)
    item = order_item(order, item_id)
    version = (item.report_version or 0) + 1
    record_report_uploaded(db, order, item, version, admin_id)
    key = _storage_key(order.id, item.id, version)
    storage = get_sealed_storage()
    storage.put(key, content)
    on_rollback(db, lambda _session: delete_quietly(key))
    report = Report(
        order_id=order.id,
        order_item_id=item.id,
        version=version,
        storage_key=key,
        sha256=hashlib.sha256(content).hexdigest(),
        size_bytes=len(content),
        note=note,
        uploaded_by=admin_id,
        uploaded_at=utcnow(),
    )
    db.add(report)
    db.flush()
    record_audit(
        db,
        action="report.uploaded",
        entity_type="report",
        entity_id=report.id,
        actor_user_id=admin_id,
        changes={
            "order_id": order.id,
            "order_item_id": item.id,
            "version": version,
            "sha256": report.sha256,
            "size_bytes": report.size_bytes,
        },
    )
    report_stored(db, order, report)
    return report


def report_versions(db: Session, order: Order, item_id: int) -> list[Report]:
    item = order_item(order, item_id)
    return list(
        db.scalars(select(Report).where(Report.order_item_id == item.id).order_by(Report.version))
    )


class ReportFormat(StrEnum):
    """How a report is served: the PDF itself, or a FHIR R4 document carrying it."""

    PDF = "pdf"
    FHIR = "fhir"


@dataclass(frozen=True)
class ReportFile:
    """One version of a member's report with its PDF read back intact (SHA-256 checked)."""

    order: Order
    item: OrderItem
    report: Report
    content: bytes

    @property
    def stem(self) -> str:
        """The name files of this version are given, without the extension."""
        return f"{self.order.order_number}-{self.item.id}-report-v{self.report.version}"

    @property
    def filename(self) -> str:
        return f"{self.stem}.pdf"


def find_report(
    db: Session, order: Order, item_id: int, version: int | None
) -> tuple[OrderItem, Report]:
    """The item and its report version (the latest unless `version`), not yet read."""
    item = order_item(order, item_id)
    if item.report_version is None:
        raise ReportNotReady()
    report = db.scalar(
        select(Report).where(
            Report.order_item_id == item.id, Report.version == (version or item.report_version)
        )
    )
    if report is None:
        raise ReportNotFound()
    if report.erased_at is not None:
        raise ReportErased()
    return item, report


def open_report(db: Session, order: Order, item_id: int, version: int | None) -> ReportFile:
    """The report read back, without counting or auditing it (the caller does)."""
    item, report = find_report(db, order, item_id, version)
    return ReportFile(order, item, report, _read(report))


def download_report(
    db: Session,
    order: Order,
    item_id: int,
    version: int | None,
    caller_id: int,
    is_admin: bool,
    report_format: ReportFormat = ReportFormat.PDF,
) -> ReportFile:
    """The decrypted PDF (the latest version unless `version`), counted against the caller's
    hourly downloads whatever the format, and audited as `report.downloaded` with the format."""
    item, report = find_report(db, order, item_id, version)
    settings = get_settings()
    # Staff download many customers' reports for support: their own, larger allowance.
    who, limit = (
        ("staff", settings.REPORT_STAFF_DOWNLOADS_PER_HOUR)
        if is_admin
        else ("customer", settings.REPORT_DOWNLOADS_PER_HOUR)
    )
    hit_sliding_window(f"report_downloads:{who}:{caller_id}", limit, DOWNLOAD_WINDOW_SECONDS)
    opened = ReportFile(order, item, report, _read(report))
    record_audit(
        db,
        action="report.downloaded",
        entity_type="report",
        entity_id=report.id,
        actor_user_id=caller_id,
        changes={
            "order_id": order.id,
            "order_item_id": item.id,
            "version": report.version,
            "format": report_format.value,
        },
    )
    return opened


def _read(report: Report) -> bytes:
    try:
        return read_verified(report.storage_key, report.sha256)
    except StoredFileUnreadable as exc:
        logger.error("report %s unreadable: %s", report.id, exc)
        raise ReportUnreadable() from exc


def export_reports(db: Session, user_id: int) -> list[dict[str, Any]]:
    """The metadata of every report of the user's orders, with where to download each."""
    rows = db.execute(
        select(Report)
        .join(Order, Order.id == Report.order_id)
        .where(Order.user_id == user_id)
        .order_by(Report.order_id, Report.order_item_id, Report.version)
    ).scalars()
    return [
        {
            "order_id": report.order_id,
            "item_id": report.order_item_id,
            "version": report.version,
            "sha256": report.sha256,
            "size_bytes": report.size_bytes,
            "uploaded_at": report.uploaded_at,
            "note": report.note,
            "download": f"/orders/{report.order_id}/items/{report.order_item_id}/report"
            f"?version={report.version}",
        }
        for report in rows
    ]


def erase_user_data(db: Session, order_ids: list[int]) -> int:
    """Account erasure: the reports of these orders keep their metadata (version, size,
    SHA-256, times) without the note; their files are deleted once the erasure commits."""
    if not order_ids:
        return 0
    keys = list(
        db.scalars(
            select(Report.storage_key).where(
                Report.order_id.in_(order_ids), Report.purged_at.is_(None)
            )
        )
    )
    db.execute(
        update(Report)
        .where(Report.order_id.in_(order_ids), Report.erased_at.is_(None))
        .values(note=None, erased_at=utcnow())
    )
    if keys:
        on_commit(db, lambda: _delete_all_quietly(keys))
    return len(keys)


def _delete_all_quietly(keys: list[str]) -> None:
    for key in keys:
        delete_quietly(key)


def purge_erased_files(db: Session, limit: int = 100) -> int:
    """Delete (again) the files of erased reports not yet confirmed gone; how many were."""
    reports = list(
        db.scalars(
            select(Report)
            .where(Report.erased_at.is_not(None), Report.purged_at.is_(None))
            .order_by(Report.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    storage = get_storage()
    purged = 0
    for report in reports:
        try:
            storage.delete(report.storage_key)
        except StorageUnavailable:
            logger.warning("erased report files still in storage; the next run retries")
            break
        report.purged_at = utcnow()
        purged += 1
    return purged
