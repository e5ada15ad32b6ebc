from fastapi import status

from core.routing import APIRouter, DbSession
from deps import OptionalUser
from Privacy_module.models import PrivacyChoice
from Privacy_module.schemas import (
    PrivacyChoiceIn,
    PrivacyChoiceOut,
    PrivacyReceiptOut,
    VisitorId,
)
from Privacy_module.service import latest_choice, record_choice

router = APIRouter(prefix="/privacy", tags=["privacy"])


@router.post("/choices", response_model=PrivacyReceiptOut, status_code=status.HTTP_201_CREATED)
def record_privacy_choice(
    body: PrivacyChoiceIn, db: DbSession, user: OptionalUser
) -> PrivacyChoice:
    """Record what a visitor allowed: a new receipt each time (linked to my account when I am
    logged in)."""
    return record_choice(
        db,
        user.id if user is not None else None,
        body.visitor_id,
        analytics=body.analytics,
        location=body.location,
        policy_version=body.policy_version,
    )


@router.get("/choices/{visitor_id}", response_model=PrivacyChoiceOut)
def read_privacy_choice(visitor_id: VisitorId, db: DbSession) -> PrivacyChoice:
    """A visitor's latest choice."""
    return latest_choice(db, visitor_id)
