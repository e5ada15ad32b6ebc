"""The Nucleotide API: one FastAPI app, one router per domain module."""

import gc
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from Abdm_module.jobs import register_abdm_jobs
from Abdm_module.router import router as abdm_router
from Abdm_module.service import on_report_stored
from Address_module.router import router as address_router
from alembic_runner import upgrade_to_head
from Audit_module.router import router as audit_router
from Banner_module.router import router as banners_router
from Cart_module.router import router as cart_router
from Cart_module.service import member_in_cart
from Category_module.router import router as categories_router
from Collection_module.router import router as collection_router
from Collection_module.service import release_for_cancelled_order
from config import APP_NAME, APP_VERSION, get_settings
from Consent_module.Request.router import router as consent_requests_router
from Consent_module.router import router as consent_router
from core.errors import install_error_handlers
from core.health import router as health_router
from core.hooks import unwired
from core.logging import configure_logging
from core.metrics import router as metrics_router
from core.metrics import track_pool
from core.middleware import RequestContextMiddleware
from core.openapi import install_openapi, operation_id
from core.response_cache import CatalogueCacheMiddleware, watch_tables
from core.scheduler import scheduler
from database import engine
from Enquiry_module.jobs import register_enquiry_jobs
from Enquiry_module.router import router as enquiries_router
from gmeet_api.notices import register_counselling_jobs
from gmeet_api.router import router as gmeet_router
from Invoice_module.router import router as invoices_router
from Invoice_module.service import issue_credit_note, issue_invoice
from Login_module.Device.jobs import register_session_jobs
from Login_module.Device.router import router as sessions_router
from Login_module.Device.service import session_ended
from Login_module.router import router as auth_router
from Member_module.router import router as member_router
from Member_module.service import member_in_use
from Newsletter_module.jobs import register_newsletter_jobs
from Newsletter_module.router import router as newsletter_router
from Notification_module.jobs import register_notification_jobs
from Notification_module.router import router as notifications_router
from Notification_module.service import remove_devices_of_session
from Orders_module.cancellation import order_ended
from Orders_module.checkout import order_paid
from Orders_module.jobs import register_order_jobs
from Orders_module.payments import refund_processed
from Orders_module.router import router as orders_router
from Orders_module.service import member_on_unfinished_order
from Privacy_module.router import router as privacy_router
from Product_module.router import product_consents_router, shelf_router
from Product_module.router import router as products_router
from Profile_module.router import router as profile_router
from Report_module.jobs import register_report_jobs
from Report_module.router import router as reports_router
from Report_module.service import report_stored

logger = logging.getLogger("nucleotide")

# Matching walks the routes in this order, so the customer's hot paths (the session, orders and
# checkout, cart, members, addresses) come first and the admin-only and rarely used last; order
# may not change which route answers a path (tests/core/test_route_order.py).
ROUTERS = [
    health_router,
    auth_router,
    sessions_router,
    orders_router,
    cart_router,
    member_router,
    address_router,
    profile_router,
    consent_requests_router,
    consent_router,
    product_consents_router,
    shelf_router,
    categories_router,
    products_router,
    banners_router,
    collection_router,
    reports_router,
    abdm_router,
    invoices_router,
    gmeet_router,
    notifications_router,
    enquiries_router,
    newsletter_router,
    privacy_router,
    audit_router,
    metrics_router,
]
UPLOAD_OVERHEAD_BYTES = 64 * 1024
REPORT_UPLOAD_PATH = re.compile(r"/orders/admin/\d+/items/\d+/report")


def wire_hooks() -> None:
    """What each module does, in the same transaction, when a module below it has news (see
    core/hooks.py). Connected here, in one place, rather than as a side effect of imports."""
    order_paid.connect(issue_invoice)
    refund_processed.connect(issue_credit_note)
    order_ended.connect(release_for_cancelled_order)
    session_ended.connect(remove_devices_of_session)
    member_in_use.connect(member_in_cart)
    member_in_use.connect(member_on_unfinished_order)
    report_stored.connect(on_report_stored)
    if missing := unwired():
        raise RuntimeError(f"hooks without a handler: {', '.join(missing)}")


def start_background_jobs() -> None:
    register_session_jobs()
    register_order_jobs()
    register_report_jobs()
    register_notification_jobs()
    register_counselling_jobs()
    register_enquiry_jobs()
    register_newsletter_jobs()
    register_abdm_jobs()
    scheduler.start()


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    upgrade_to_head()
    if settings.SCHEDULER_ENABLED:
        start_background_jobs()
    # Everything made so far (modules, models, routes, schemas) lives as long as the process:
    # moved out of the collector's sight, so a full collection no longer walks it while
    # requests wait (docs/performance.md, "Tails").
    gc.collect()
    gc.freeze()
    logger.info("%s %s started (%s)", APP_NAME, APP_VERSION, settings.ENVIRONMENT)
    try:
        yield
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=True)
        logger.info("stopped")


# Tables whose rows the public catalogue answers show: a committed write to any of them makes
# every replica drop its cached answers (core/response_cache.py).
CATALOGUE_TABLES = (
    "categories",
    "products",
    "consent_types",
    "consent_type_versions",
    "product_consents",
    "serviceable_locations",
    "counsellor_gmeet_list",
    "counsellor_gmeet_tokens",
    "banners",
)
watch_tables(CATALOGUE_TABLES)


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.LOG_LEVEL)
    wire_hooks()
    app = FastAPI(
        title=APP_NAME,
        version=APP_VERSION,
        description="Genetic testing: login, family members, catalogue, checkout, counselling.",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    install_error_handlers(app)
    # Innermost first: the catalogue cache sits inside CORS, which sits inside the
    # request-context middleware (request id, security headers, access log, metrics, body cap).
    app.add_middleware(CatalogueCacheMiddleware, routes=app.router.routes)
    track_pool(lambda: engine.pool.checkedout() if hasattr(engine.pool, "checkedout") else 0)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.allowed_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
        expose_headers=["X-Request-ID", "Retry-After", "Content-Disposition"],
    )
    app.add_middleware(
        RequestContextMiddleware,
        trusted_proxy_hops=settings.TRUSTED_PROXY_HOPS if settings.TRUST_PROXY_HEADERS else 0,
        max_body_bytes=settings.MAX_JSON_BODY_BYTES,
        upload_body_bytes=settings.MAX_PHOTO_BYTES + UPLOAD_OVERHEAD_BYTES,
        large_uploads=((REPORT_UPLOAD_PATH, settings.MAX_REPORT_BYTES + UPLOAD_OVERHEAD_BYTES),),
    )
    for router in ROUTERS:
        app.include_router(router)
    install_openapi(app)
    media = Path(settings.MEDIA_ROOT)
    media.mkdir(parents=True, exist_ok=True)
    app.mount(settings.MEDIA_URL, StaticFiles(directory=media), name="media")
    return app


app = create_app()
