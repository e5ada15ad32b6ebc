from core.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    ServiceUnavailableError,
    UnprocessableError,
)


class OrderNotFound(NotFoundError):
    code = "order_not_found"
    message = "Order not found."


class OrderItemNotFound(NotFoundError):
    code = "order_item_not_found"
    message = "Order item not found."


class CartEmpty(ConflictError):
    code = "cart_empty"
    message = "Your cart is empty."


class CartChanged(ConflictError):
    code = "cart_changed"
    message = "Your cart changed (see details); review it before paying."


class ProductUnavailable(ConflictError):
    code = "product_unavailable"
    message = "Some tests in your cart are no longer available; review your cart."


class AddressNotServiceable(UnprocessableError):
    code = "location_not_serviceable"
    message = "We can no longer collect samples at some of the chosen addresses."


class IdempotencyKeyReused(UnprocessableError):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was already used for a different request."


class RequestInProgress(ConflictError):
    code = "request_in_progress"
    message = "The same request is still being processed; retry in a moment."


class PaymentProviderUnavailable(ServiceUnavailableError):
    code = "payment_provider_unavailable"
    message = "The payment provider is not reachable right now; nothing was charged. Try again."


class PaymentSignatureInvalid(BadRequestError):
    code = "payment_signature_invalid"
    message = "The payment could not be verified."


class WebhookSignatureInvalid(BadRequestError):
    code = "webhook_signature_invalid"
    message = "Invalid webhook signature."


class OrderNotCancellable(ConflictError):
    code = "order_not_cancellable"
    message = "This order can no longer be cancelled."


class InvalidStatusTransition(ConflictError):
    code = "invalid_status_transition"
    message = "That status change is not allowed."


class ReportRequired(ConflictError):
    code = "report_required"
    message = "A test reaches report_ready only by uploading its report."
