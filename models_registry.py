"""Imports every module's models so Base.metadata knows all tables (Alembic, create_all, tests)."""

from Abdm_module import models as abdm_models
from Address_module import models as address_models
from Audit_module import models as audit_models
from Banner_module import models as banner_models
from Cart_module import models as cart_models
from Category_module import models as category_models
from Collection_module import models as collection_models
from Consent_module import models as consent_models
from Consent_module.Request import models as consent_request_models
from Enquiry_module import models as enquiry_models
from gmeet_api import models as gmeet_models
from Invoice_module import models as invoice_models
from Login_module import models as login_models
from Member_module import models as member_models
from Newsletter_module import models as newsletter_models
from Notification_module import models as notification_models
from Orders_module import models as order_models
from Privacy_module import models as privacy_models
from Product_module import models as product_models
from Report_module import models as report_models

__all__ = [
    "abdm_models",
    "address_models",
    "audit_models",
    "banner_models",
    "cart_models",
    "category_models",
    "collection_models",
    "consent_models",
    "consent_request_models",
    "enquiry_models",
    "gmeet_models",
    "invoice_models",
    "login_models",
    "member_models",
    "newsletter_models",
    "notification_models",
    "order_models",
    "privacy_models",
    "product_models",
    "report_models",
]
