"""The serviceable-locations seed and the lookup checkout uses."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from Address_module.locations import (
    city_key,
    load_serviceable_locations,
    read_locations_csv,
)
from Address_module.models import ServiceableLocation
from Address_module.service import serviceability_for


def write_csv(path: Path, *rows: str) -> Path:
    path.write_text("city,zone,home_collection,sample_pickup\n" + "\n".join(rows) + "\n")
    return path


def count(db) -> int:
    return db.scalar(select(func.count()).select_from(ServiceableLocation)) or 0


def test_city_key_ignores_case_spacing_and_punctuation():
    assert city_key("  Solan-Tehsil   BADDI. ") == "solan tehsil baddi"
    assert city_key("NORTH 24 PARAGANAS") == "north 24 paraganas"
    assert city_key("--") == ""


def test_loading_the_csv_creates_every_city_once_and_is_idempotent(db):
    rows = read_locations_csv()
    assert len(rows) == 374  # 375 lines, one city listed twice in another case
    assert load_serviceable_locations(db) == (374, 0)
    assert count(db) == 374
    assert load_serviceable_locations(db) == (0, 0)
    assert count(db) == 374
    bangalore = serviceability_for(db, "bangalore")
    assert (bangalore.city, bangalore.zone, bangalore.home_collection) == (
        "BANGALORE",
        "South",
        True,
    )
    belgaum = serviceability_for(db, "Belgaum")
    assert (belgaum.home_collection, belgaum.sample_pickup) == (False, True)


def test_a_city_listed_twice_keeps_its_first_row(db, tmp_path):
    path = write_csv(tmp_path / "l.csv", "BEGUSARAI,East,False,True", "Begusarai,West,True,True")
    assert load_serviceable_locations(db, path) == (1, 0)
    location = serviceability_for(db, "begusarai")
    assert (location.city, location.zone, location.home_collection) == ("BEGUSARAI", "East", False)


def test_reloading_updates_changed_rows_but_leaves_is_active_alone(db, tmp_path):
    load_serviceable_locations(db, write_csv(tmp_path / "a.csv", "Mysore,South,False,True"))
    location = serviceability_for(db, "mysore")
    location.is_active = False
    db.flush()
    changed = write_csv(tmp_path / "b.csv", "MYSORE,South,True,True", "Hubli,South,False,True")
    assert load_serviceable_locations(db, changed) == (1, 1)
    db.refresh(location)
    assert (location.city, location.home_collection, location.is_active) == (
        "MYSORE",
        True,
        False,
    )


@pytest.mark.parametrize("row", ["Mysore,South,yes,True", "Mysore,South,True,", ",South,True,True"])
def test_a_malformed_csv_row_is_refused(db, tmp_path, row):
    with pytest.raises(ValueError, match="line 2"):
        load_serviceable_locations(db, write_csv(tmp_path / "bad.csv", row))
    assert count(db) == 0


def test_serviceability_for_ignores_switched_off_and_unknown_cities(db, tmp_path):
    load_serviceable_locations(db, write_csv(tmp_path / "a.csv", "Mysore,South,False,True"))
    assert serviceability_for(db, " MYSORE ").city == "Mysore"
    assert serviceability_for(db, "Atlantis") is None
    assert serviceability_for(db, "  ") is None
    serviceability_for(db, "mysore").is_active = False
    db.flush()
    assert serviceability_for(db, "mysore") is None
