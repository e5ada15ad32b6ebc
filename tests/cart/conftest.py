from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from Address_module.models import Address
from Category_module.models import Category
from Member_module.models import Member
from Product_module.models import Product
from tests.support.factories.address import make_address
from tests.support.factories.category import make_category
from tests.support.factories.member import make_member
from tests.support.factories.product import make_product
from tests.support.login import LoggedIn, login


@dataclass
class Buyer:
    """A logged-in user with a member and a serviceable address."""

    login: LoggedIn
    member: Member
    address: Address

    @property
    def headers(self) -> dict[str, str]:
        return self.login.headers

    @property
    def user_id(self) -> int:
        return self.login.user_id

    @property
    def choice(self) -> tuple[int, int]:
        return (self.member.id, self.address.id)


@pytest.fixture
def me(client: TestClient, db: Session) -> Buyer:
    user = login(client, "+919876500011")
    return Buyer(user, make_member(db, user.user_id), make_address(db, user.user_id))


@pytest.fixture
def other(client: TestClient, db: Session) -> Buyer:
    user = login(client, "+919876500012")
    return Buyer(
        user,
        make_member(db, user.user_id, name="Other Person"),
        make_address(db, user.user_id),
    )


@pytest.fixture
def category(db: Session) -> Category:
    return make_category(db)


@pytest.fixture
def product(db: Session, category: Category) -> Product:
    """A single-plan test at Rs 4,999."""
    return make_product(db, category, name="Gut", price_paise=499_900)
