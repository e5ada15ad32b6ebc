import pytest
from sqlalchemy.orm import Session

from Category_module.models import Category
from Product_module.models import Product
from tests.support.factories.category import make_category
from tests.support.factories.product import make_product


@pytest.fixture
def category(db: Session) -> Category:
    return make_category(db, slug="gut-microbiome")


@pytest.fixture
def product(db: Session, category: Category) -> Product:
    return make_product(db, category, slug="gut")
