"""A product's answers as its schemas shape them."""

from dataclasses import dataclass

from Consent_module.models import ConsentType
from core.answers import ReadsThrough
from Product_module.models import Product


@dataclass(frozen=True)
class ProductDetail(ReadsThrough):
    """A product with the active consent types it requires; reads through to the product."""

    product: Product
    required_consents: list[ConsentType]
