from fastapi import status

from Category_module.models import Category
from Category_module.schemas import (
    BootstrapOut,
    CategoryAdminOut,
    CategoryCreateIn,
    CategoryUpdateIn,
)
from Category_module.service import (
    Bootstrapped,
    bootstrap_default_categories,
    create_category,
    get_category,
    update_category,
)
from core.routing import APIRouter, DbSession
from core.validation import RowId
from deps import AdminUser

router = APIRouter(prefix="/categories", tags=["catalogue"])


@router.post("", response_model=CategoryAdminOut, status_code=status.HTTP_201_CREATED)
def post_category(body: CategoryCreateIn, db: DbSession, admin: AdminUser) -> Category:
    """Create a category (admin); the slug is derived from the name unless given."""
    return create_category(db, actor_user_id=admin.id, **body.model_dump())


@router.post("/bootstrap", response_model=BootstrapOut)
def bootstrap_categories(db: DbSession, admin: AdminUser) -> Bootstrapped:
    """Create the default categories that are missing (admin); safe to repeat."""
    return bootstrap_default_categories(db, actor_user_id=admin.id)


@router.put("/{category_id}", response_model=CategoryAdminOut)
def put_category(
    category_id: RowId, body: CategoryUpdateIn, db: DbSession, admin: AdminUser
) -> Category:
    """Change a category's fields (admin); only the fields sent are changed."""
    category = get_category(db, category_id)
    return update_category(db, category, body, actor_user_id=admin.id)
