"""The pre-stream review a go-live records (LCM Art. 30: scripts and sets are reviewed before
the stream): what was reviewed, as the platform confirms it in the request. A session records
it as given; a review that does not confirm the scripts and the set keeps the room off air (the
gate's `pre_stream_review` check).

The items are fixed here, for the serializer (api/serializers.py), the hot path's test of a
plain body (api/golive.py) and the services alike."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# What must be confirmed before any stream (LCM Art. 30), and what it is called in a reason.
REQUIRED = {
    "script_reviewed": _("The scripts were not reviewed before the stream (LCM Art. 30)."),
    "set_reviewed": _("The set was not reviewed before the stream (LCM Art. 30)."),
}
# What may be added: the products and their documents looked at, who reviewed, notes.
FLAGS = ("script_reviewed", "set_reviewed", "products_reviewed")
TEXTS = {"reviewer": 64, "notes": 500}
ITEMS = (*FLAGS, *TEXTS)


def unconfirmed(review: dict) -> list[str]:
    """The required items the review does not confirm, in their order."""
    return [item for item in REQUIRED if review.get(item) is not True]


def plain(review) -> dict | None:
    """The review as the serializer would keep it, if it is plainly valid as sent (every item
    known, flags true or false, texts non-empty, trimmed, within their length, free of NUL and
    of lone surrogates); else None, and the serializer decides and explains. Items come back in
    their fixed order."""
    if type(review) is not dict or not all(item in review for item in REQUIRED):
        return None
    for item, value in review.items():
        if item in FLAGS:
            if type(value) is not bool:
                return None
        elif item in TEXTS:
            if not _plain_text(value, TEXTS[item]):
                return None
        else:
            return None
    return {item: review[item] for item in ITEMS if item in review}


def _plain_text(value, limit: int) -> bool:
    if (
        type(value) is not str
        or not value
        or value.strip() != value
        or len(value) > limit
        or "\x00" in value
    ):
        return False
    try:
        # JSON may escape half of a surrogate pair (\ud800) alone: such a text has no UTF-8
        # form, so it could be neither stored nor answered. The serializer refuses it.
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def clean(review) -> dict:
    """For the services' own callers (the demo, imports): the same rules, as a ValidationError."""
    kept = plain(review)
    if kept is None:
        raise ValidationError(
            {
                "pre_stream_checklist": _(
                    "The pre-stream review must say whether the scripts and the set were "
                    "reviewed (script_reviewed, set_reviewed: true or false); it may add "
                    "products_reviewed, reviewer and notes."
                )
            }
        )
    return kept
