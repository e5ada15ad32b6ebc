from core.errors import ConflictError, NotFoundError


class EnquiryNotFound(NotFoundError):
    code = "enquiry_not_found"
    message = "No such enquiry."


class EnquiryCannotBeNew(ConflictError):
    code = "enquiry_cannot_be_new"
    message = "An enquiry that was worked on cannot go back to new; reopen it as contacted."
