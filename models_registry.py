"""Imports every module's models so Base.metadata knows all tables (Alembic, create_all, tests)."""

from Audit_module import models as audit_models
from Login_module import models as login_models

__all__ = ["audit_models", "login_models"]
