"""Production refuses to issue invoices without a real supplier."""

import pytest
from pydantic import ValidationError

from config import DEV_SUPPLIER_GSTIN, DEV_SUPPLIER_LEGAL_NAME
from tests.support.settings import production


def test_production_with_a_supplier_is_accepted() -> None:
    settings = production()
    assert settings.SUPPLIER_GSTIN and settings.INVOICE_PREFIX == "NUC"


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"SUPPLIER_GSTIN": None}, "SUPPLIER_GSTIN must be set"),
        ({"SUPPLIER_GSTIN": ""}, "SUPPLIER_GSTIN must be set"),
        ({"SUPPLIER_GSTIN": DEV_SUPPLIER_GSTIN}, "SUPPLIER_GSTIN must be set"),
        ({"SUPPLIER_LEGAL_NAME": None}, "SUPPLIER_LEGAL_NAME must be set"),
        ({"SUPPLIER_LEGAL_NAME": " "}, "SUPPLIER_LEGAL_NAME must be set"),
        ({"SUPPLIER_LEGAL_NAME": DEV_SUPPLIER_LEGAL_NAME}, "SUPPLIER_LEGAL_NAME must be set"),
    ],
)
def test_production_refuses_to_start_without_the_supplier(override, fragment) -> None:
    with pytest.raises(ValidationError, match=fragment):
        production(**override)


def test_development_has_a_supplier_to_print() -> None:
    from config import Settings

    settings = Settings(ENVIRONMENT="development", _env_file=None)
    assert settings.SUPPLIER_GSTIN == DEV_SUPPLIER_GSTIN
