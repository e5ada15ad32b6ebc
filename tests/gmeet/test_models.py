"""The typed statuses: stored as their plain strings, and nothing else gets in."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from gmeet_api.models import Counsellor, CounsellorStatus
from tests.fakes.google import FakeGoogle
from tests.support.factories.gmeet import make_counsellor


def test_a_status_is_stored_as_its_plain_value_and_read_back_as_the_enum(
    db: Session, google: FakeGoogle
) -> None:
    make_counsellor(db, google, status=CounsellorStatus.RECONNECT_REQUIRED)
    stored = db.scalar(text("SELECT status FROM counsellor_gmeet_list"))
    assert (type(stored), stored) == (str, "reconnect_required")
    db.expire_all()
    status = db.scalar(select(Counsellor.status))
    assert status is CounsellorStatus.RECONNECT_REQUIRED


def test_an_unknown_status_is_refused_before_it_reaches_the_table(
    db: Session, google: FakeGoogle
) -> None:
    counsellor = make_counsellor(db, google)
    with pytest.raises(StatementError, match="paused"), db.begin_nested():
        counsellor.status = "paused"  # type: ignore[assignment]
        db.flush()
