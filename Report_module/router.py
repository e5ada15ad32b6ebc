"""Lab reports under the order paths: the lab's upload (admin), the customer's download."""

from typing import Annotated, Any

from fastapi import File, Form, Query, Response, UploadFile

from config import get_settings
from core.routing import APIRouter, DbSession
from core.validation import RowId
from deps import AdminUser, CurrentAuth
from Orders_module.deps import ReadableOrder
from Orders_module.schemas import Note
from Report_module.errors import ReportTooLarge
from Report_module.fhir import FHIR_MEDIA_TYPE, document_of
from Report_module.models import Report
from Report_module.schemas import ReportOut, ReportVersionOut
from Report_module.service import ReportFormat, download_report, report_versions, upload_report

router = APIRouter(prefix="/orders", tags=["reports"])

PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The report (PDF)"}
}
FHIR_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            FHIR_MEDIA_TYPE: {
                "schema": {
                    "type": "object",
                    "required": ["resourceType", "type", "entry"],
                    "properties": {
                        "resourceType": {"const": "Bundle"},
                        "type": {"const": "document"},
                        "entry": {"type": "array", "items": {"type": "object"}},
                    },
                }
            }
        },
        "description": "The report as a FHIR R4 document Bundle (NRCeS DocumentBundle), the PDF "
        "in its DiagnosticReport's presentedForm",
    }
}


@router.post(
    "/admin/{order_id}/items/{item_id}/report",
    response_model=ReportOut,
    status_code=201,
)
def upload(
    order_id: RowId,
    item_id: RowId,
    file: Annotated[UploadFile, File(description="The report as a PDF, at most 20 MB")],
    db: DbSession,
    admin: AdminUser,
    note: Annotated[Note | None, Form()] = None,
) -> Report:
    """Store a member's lab report (a new version if one exists); the first moves the test to
    report_ready (admin)."""
    limit = get_settings().MAX_REPORT_BYTES
    content = file.file.read(limit + 1)
    if len(content) > limit:
        raise ReportTooLarge()
    return upload_report(db, order_id, item_id, content, note, admin.id)


@router.get("/{order_id}/items/{item_id}/reports", response_model=list[ReportVersionOut])
def versions(order: ReadableOrder, item_id: RowId, db: DbSession) -> list[Report]:
    """Every version of this member's report, oldest first (the last is served by default)."""
    return report_versions(db, order, item_id)


@router.get(
    "/{order_id}/items/{item_id}/report",
    response_class=Response,
    responses=PDF_RESPONSE,
)
def download(
    order: ReadableOrder,
    item_id: RowId,
    db: DbSession,
    auth: CurrentAuth,
    version: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> Response:
    """The report as a PDF (the latest version unless `version`); every download is audited."""
    report = download_report(db, order, item_id, version, auth.user.id, auth.is_admin)
    return Response(
        content=report.content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{report.filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/{order_id}/items/{item_id}/report/fhir",
    response_class=Response,
    responses=FHIR_RESPONSE,
)
def download_fhir(
    order: ReadableOrder,
    item_id: RowId,
    db: DbSession,
    auth: CurrentAuth,
    version: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> Response:
    """The report as a FHIR R4 document (ABDM's DiagnosticReportRecord, the PDF inside); the
    same access, limit and audit as the PDF."""
    report = download_report(
        db, order, item_id, version, auth.user.id, auth.is_admin, ReportFormat.FHIR
    )
    return Response(
        content=document_of(db, report),
        media_type=FHIR_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{report.stem}.fhir.json"',
            "Cache-Control": "no-store",
        },
    )
