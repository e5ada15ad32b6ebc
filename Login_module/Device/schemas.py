from datetime import datetime

from pydantic import BaseModel, ConfigDict


class SessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    device_name: str | None
    device_platform: str | None
    ip_address: str | None
    user_agent: str | None
    created_at: datetime
    last_active: datetime
    is_current: bool


class SessionListOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    count: int
    max_sessions: int
    sessions: list[SessionOut]


class RevokedCountOut(BaseModel):
    revoked: int
