"""Reading and changing my profile; every change audited with old and new values."""

from sqlalchemy.orm import Session

from Audit_module.service import diff, personal_changes, record_audit
from config import get_settings
from core.images import clean_image
from database import on_commit, on_rollback
from Login_module.models import User
from Profile_module.errors import PhotoNotFound, PhotoTooLarge, UnsupportedImage
from Profile_module.photos import delete_photo, save_photo
from Profile_module.schemas import ProfileUpdateIn

EDITABLE_FIELDS = ("name", "email", "date_of_birth", "gender")


def update_profile(db: Session, user: User, body: ProfileUpdateIn) -> User:
    changes = body.model_dump(exclude_unset=True)
    old = {field: getattr(user, field) for field in EDITABLE_FIELDS}
    for field, value in changes.items():
        setattr(user, field, value)
    new = {field: getattr(user, field) for field in EDITABLE_FIELDS}
    changed = diff(old, new)
    if changed:
        record_audit(
            db,
            action="profile.updated",
            entity_type="user",
            entity_id=user.id,
            actor_user_id=user.id,
            changes=personal_changes(changed),
        )
    return user


def replace_photo(db: Session, user: User, content: bytes) -> User:
    if len(content) > get_settings().MAX_PHOTO_BYTES:
        raise PhotoTooLarge()
    cleaned = clean_image(content)
    if cleaned is None:
        raise UnsupportedImage()
    old_path = user.photo_path
    new_path = save_photo(user.id, cleaned.data, cleaned.extension)
    user.photo_path = new_path
    # The file is written before the commit; if the request fails it must not be left behind.
    on_rollback(db, lambda _session: delete_photo(new_path))
    if old_path:
        on_commit(db, lambda: delete_photo(old_path))
    record_audit(
        db,
        action="profile.photo_updated",
        entity_type="user",
        entity_id=user.id,
        actor_user_id=user.id,
        changes=personal_changes({"photo_path": {"old": old_path, "new": user.photo_path}}),
    )
    return user


def remove_photo(db: Session, user: User) -> None:
    old_path = user.photo_path
    if not old_path:
        raise PhotoNotFound()
    user.photo_path = None
    on_commit(db, lambda: delete_photo(old_path))
    record_audit(
        db,
        action="profile.photo_deleted",
        entity_type="user",
        entity_id=user.id,
        actor_user_id=user.id,
        changes=personal_changes({"photo_path": {"old": old_path, "new": None}}),
    )
