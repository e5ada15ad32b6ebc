"""Imports every module's models so Base.metadata knows all tables (Alembic, create_all, tests)."""

from Audit_module import models as audit_models
from Category_module import models as category_models
from Login_module import models as login_models
from Product_module import models as product_models

__all__ = ["audit_models", "category_models", "login_models", "product_models"]
