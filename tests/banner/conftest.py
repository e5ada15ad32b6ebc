import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from Category_module.models import Category
from Product_module.models import Product
from tests.support.factories.category import make_category
from tests.support.factories.product import make_product
from tests.support.login import ADMIN_PHONE, LoggedIn, login


@pytest.fixture
def admin(client: TestClient) -> LoggedIn:
    return login(client, ADMIN_PHONE)


@pytest.fixture
def customer(client: TestClient) -> LoggedIn:
    return login(client, "+919876500001")


@pytest.fixture
def category(db: Session) -> Category:
    return make_category(db, slug="gut-microbiome")


@pytest.fixture
def product(db: Session, category: Category) -> Product:
    return make_product(db, category, slug="gut")
