from core.errors import AppError, ConflictError, NotFoundError


class ReportTooLarge(AppError):
    status_code = 413
    code = "file_too_large"
    message = "The report is larger than the upload limit."


class NotAPdf(AppError):
    status_code = 415
    code = "unsupported_report_type"
    message = "The report must be a PDF file."


class InvalidReportFile(AppError):
    status_code = 415
    code = "invalid_report_file"
    message = "The report does not open as a PDF with at least one page."


class ReportNotReady(ConflictError):
    code = "report_not_ready"
    message = "The report for this test is not ready yet."


class ReportNotFound(NotFoundError):
    code = "report_not_found"
    message = "There is no report of that version."


class ReportErased(AppError):
    status_code = 410
    code = "report_erased"
    message = "This report was deleted with the account it belonged to."


class ReportUnreadable(AppError):
    """The stored object is missing, does not open with our keys, or is not the file that was
    uploaded (SHA-256): never served; the lab uploads the report again."""

    status_code = 500
    code = "report_unreadable"
    message = "The stored report could not be read back intact."
