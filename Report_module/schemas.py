from datetime import datetime

from pydantic import BaseModel, ConfigDict


class ReportOut(BaseModel):
    """The version just stored (admin upload)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    version: int
    sha256: str
    size_bytes: int
    uploaded_at: datetime


class ReportVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    sha256: str
    size_bytes: int
    uploaded_at: datetime
    note: str | None
