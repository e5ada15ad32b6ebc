"""Request parameters of the gmeet routes, validated before the handlers run."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query
from pydantic import AwareDatetime

from deps import CurrentAuth

# Public counsellor ids are 6 characters; anything else simply is not found.
CounsellorIdPath = Annotated[str, Path(min_length=1, max_length=16)]


@dataclass(frozen=True)
class AvailabilityQuery:
    counsellor_id: str
    start_time: AwareDatetime
    end_time: AwareDatetime


async def availability_query(
    counsellor_id: Annotated[str, Query(min_length=1, max_length=16)],
    start_time: Annotated[AwareDatetime, Query(description="ISO 8601 with offset")],
    end_time: Annotated[AwareDatetime, Query(description="ISO 8601 with offset")],
) -> AvailabilityQuery:
    return AvailabilityQuery(counsellor_id.strip(), start_time, end_time)


Availability = Annotated[AvailabilityQuery, Depends(availability_query)]


@dataclass(frozen=True)
class Caller:
    """Who is acting on a booking: its owner, or an admin who may act on anyone's."""

    user_id: int
    is_admin: bool


async def booking_caller(auth: CurrentAuth) -> Caller:
    return Caller(user_id=auth.user.id, is_admin=auth.is_admin)


BookingCaller = Annotated[Caller, Depends(booking_caller)]
