"""Serviceable locations: how a typed city is matched, and the idempotent CSV seed."""

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from Address_module.models import ServiceableLocation

LOCATIONS_CSV = Path(__file__).resolve().parent.parent / "data" / "serviceable_locations.csv"
BOOLEANS = {"true": True, "false": False}


def city_key(city: str) -> str:
    """`' Solan-Tehsil  Baddi '` -> `'solan tehsil baddi'`: case, spacing and punctuation
    never decide whether a city matches."""
    return re.sub(r"[\W_]+", " ", city.casefold()).strip()


@dataclass(frozen=True)
class LocationRow:
    city: str
    zone: str
    home_collection: bool
    sample_pickup: bool

    @property
    def key(self) -> str:
        return city_key(self.city)


def _flag(value: str, line: int, column: str) -> bool:
    try:
        return BOOLEANS[value.strip().lower()]
    except KeyError:
        raise ValueError(f"line {line}: {column} must be True or False, not {value!r}") from None


def read_locations_csv(path: Path = LOCATIONS_CSV) -> list[LocationRow]:
    """The CSV's rows, one per city: a city listed twice (in another case) keeps its first row."""
    rows: dict[str, LocationRow] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for line, record in enumerate(csv.DictReader(handle), start=2):
            city = " ".join(record["city"].split())
            if not city_key(city):
                raise ValueError(f"line {line}: the city is empty")
            row = LocationRow(
                city=city,
                zone=record["zone"].strip(),
                home_collection=_flag(record["home_collection"], line, "home_collection"),
                sample_pickup=_flag(record["sample_pickup"], line, "sample_pickup"),
            )
            rows.setdefault(row.key, row)
    return list(rows.values())


def load_serviceable_locations(
    db: Session, path: Path = LOCATIONS_CSV, *, update_existing: bool = True
) -> tuple[int, int]:
    """Upsert the CSV into serviceable_locations; returns (created, updated).

    Idempotent: a second run changes nothing and returns (0, 0). `is_active` is left as an admin
    set it, so re-seeding never re-opens a city that was switched off. With
    `update_existing=False` (the demo seed) cities already present are not touched at all.
    """
    existing = {location.city_key: location for location in db.scalars(select(ServiceableLocation))}
    created = updated = 0
    for row in read_locations_csv(path):
        location = existing.get(row.key)
        if location is None:
            db.add(
                ServiceableLocation(
                    city=row.city,
                    city_key=row.key,
                    zone=row.zone,
                    home_collection=row.home_collection,
                    sample_pickup=row.sample_pickup,
                    is_active=True,
                )
            )
            created += 1
            continue
        if not update_existing:
            continue
        wanted = {
            "city": row.city,
            "zone": row.zone,
            "home_collection": row.home_collection,
            "sample_pickup": row.sample_pickup,
        }
        if any(getattr(location, field) != value for field, value in wanted.items()):
            for field, value in wanted.items():
                setattr(location, field, value)
            updated += 1
    db.flush()
    return created, updated
