from core.errors import ConflictError, NotFoundError


class MemberNotFound(NotFoundError):
    code = "member_not_found"
    message = "Member not found."


class SelfMemberExists(ConflictError):
    code = "self_member_exists"
    message = "You already have a member with the relation 'self'."


class MemberLimitReached(ConflictError):
    code = "member_limit_reached"
    message = "You have reached the maximum number of members."


class MemberInUse(ConflictError):
    code = "member_in_use"
    message = "This member is in your cart or on an unfinished order and cannot be deleted."


class AbhaInUse(ConflictError):
    code = "abha_in_use"
    message = "Another of your members already has this ABHA number or ABHA address."
