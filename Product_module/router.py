from collections.abc import Sequence
from typing import Annotated

from fastapi import Path, Query, Response, status

from Category_module.schemas import CategoryOut
from Consent_module import service as consent_service
from Consent_module.models import ConsentType
from Consent_module.queries import required_consents
from Consent_module.schemas import ConsentCode, ProductLinkIn, RequiredConsentOut
from core.pagination import Page, Pagination, RowPage, paginate
from core.response_cache import public_cache
from core.routing import APIRouter, DbSession
from core.validation import RowId
from deps import AdminUser
from Product_module.answers import ProductDetail
from Product_module.models import Product
from Product_module.schemas import (
    MAX_PAISE,
    PlanType,
    ProductAdminOut,
    ProductCreateIn,
    ProductDetailOut,
    ProductOut,
    ProductSort,
    ProductUpdateIn,
)
from Product_module.service import (
    ShelfRow,
    categories_on_shelf,
    create_product,
    deactivate_product,
    get_product,
    get_product_for_sale,
    product_detail,
    product_search_statement,
    update_product,
)

router = APIRouter(prefix="/products", tags=["catalogue"])
# Answers that join products with a lower module's rows live here, under that module's paths:
# the shelf of categories with their product counts, and the consents a product requires.
shelf_router = APIRouter(prefix="/categories", tags=["catalogue"])
product_consents_router = APIRouter(prefix="/consent/products", tags=["consent"])

PriceFilter = Annotated[int | None, Query(ge=0, le=MAX_PAISE)]


@router.get("", response_model=Page[ProductOut])
@public_cache
def list_products(
    db: DbSession,
    page: Pagination,
    q: Annotated[str | None, Query(max_length=100)] = None,
    category: Annotated[str | None, Query(max_length=140, description="category slug")] = None,
    plan_type: PlanType | None = None,
    min_price_paise: PriceFilter = None,
    max_price_paise: PriceFilter = None,
    sort: ProductSort = "relevance",
) -> RowPage[Product]:
    """Search and filter the products on sale."""
    statement = product_search_statement(
        q=q,
        category_slug=category,
        plan_type=plan_type,
        min_price_paise=min_price_paise,
        max_price_paise=max_price_paise,
        sort=sort,
    )
    return paginate(db, statement, page)


@router.get("/{product_ref}", response_model=ProductDetailOut)
@public_cache
def get_product_detail(
    product_ref: Annotated[str, Path(max_length=140, description="product id or slug")],
    db: DbSession,
) -> ProductDetail:
    """One product on sale, by id or slug, with the consents it requires."""
    return product_detail(db, get_product_for_sale(db, product_ref))


@router.post("", response_model=ProductAdminOut, status_code=status.HTTP_201_CREATED)
def post_product(body: ProductCreateIn, db: DbSession, admin: AdminUser) -> ProductDetail:
    """Create a product (admin)."""
    product = create_product(db, body, actor_user_id=admin.id)
    return product_detail(db, product)


@router.put("/{product_id}", response_model=ProductAdminOut)
def put_product(
    product_id: RowId, body: ProductUpdateIn, db: DbSession, admin: AdminUser
) -> ProductDetail:
    """Change a product (admin); only the fields sent are changed."""
    product = update_product(db, get_product(db, product_id), body, actor_user_id=admin.id)
    return product_detail(db, product)


@router.delete("/{product_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_product(product_id: RowId, db: DbSession, admin: AdminUser) -> Response:
    """Take a product off sale (admin); it stays in past orders."""
    deactivate_product(db, get_product(db, product_id), actor_user_id=admin.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@shelf_router.get("", response_model=list[CategoryOut])
@public_cache
def list_categories(db: DbSession) -> Sequence[ShelfRow]:
    """Active categories in display order, each with its number of active products."""
    return categories_on_shelf(db)


@product_consents_router.get("/{product_id}", response_model=list[RequiredConsentOut])
@public_cache
def product_consents(product_id: RowId, db: DbSession) -> list[ConsentType]:
    """The consents a product requires from each member it is bought for."""
    product = get_product_for_sale(db, product_id)
    return required_consents(db, product.id)


@product_consents_router.post(
    "/{product_id}", response_model=list[RequiredConsentOut], status_code=status.HTTP_201_CREATED
)
def link_product_consent(
    product_id: RowId, body: ProductLinkIn, db: DbSession, admin: AdminUser
) -> list[ConsentType]:
    """Make a product require a consent (admin)."""
    product = get_product(db, product_id)
    consent_service.link_product(db, product.id, body.code, admin.id)
    return required_consents(db, product.id)


@product_consents_router.delete("/{product_id}/{code}", status_code=status.HTTP_204_NO_CONTENT)
def unlink_product_consent(
    product_id: RowId, code: ConsentCode, db: DbSession, admin: AdminUser
) -> Response:
    """Stop requiring a consent for a product (admin)."""
    consent_service.unlink_product(db, product_id, code, admin.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
