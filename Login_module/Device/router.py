from fastapi import Response, status

from config import get_settings
from core.routing import APIRouter, DbSession
from core.validation import RowId
from deps import CurrentAuth
from Login_module.Device.answers import SessionAnswer, SessionList
from Login_module.Device.schemas import RevokedCountOut, SessionListOut
from Login_module.Device.service import (
    list_sessions,
    owned_active_session,
    revoke_other_sessions,
    revoke_session,
)

router = APIRouter(prefix="/sessions", tags=["sessions"])


@router.get("", response_model=SessionListOut)
def my_sessions(db: DbSession, auth: CurrentAuth) -> SessionList:
    """My active device sessions."""
    sessions = [SessionAnswer(s, s.id == auth.session_id) for s in list_sessions(db, auth.user.id)]
    return SessionList(len(sessions), get_settings().MAX_ACTIVE_SESSIONS, sessions)


@router.delete("/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_one(session_id: RowId, db: DbSession, auth: CurrentAuth) -> Response:
    """End one of my sessions (another user's is 404)."""
    session = owned_active_session(db, auth.user.id, session_id)
    revoke_session(db, session, "revoked_by_user", auth.user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("", response_model=RevokedCountOut)
def revoke_others(db: DbSession, auth: CurrentAuth) -> RevokedCountOut:
    """End all my sessions except this one."""
    return RevokedCountOut(revoked=revoke_other_sessions(db, auth.user.id, auth.session_id))
