"""Finding the merchant, anchor or live session on the public forms, by name, without ids.

What the public may see: a party's name and kind, a live room's title, a session's start time and
whether it is on air. Nothing else leaves here. Only approved parties are offered (a file still
in review is not yet public), and only sessions run by approved owners: the go-live gate lets
no other room on air, so anything else is test data or a half-registered room.

The same querysets check a chosen id when the form comes back: an id that these would not have
offered -- unknown, of another kind, or not approved -- is refused like a typo.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Party
from liverooms.models import LiveSession, SessionStatus

# Enough to spot the right one on a phone screen; a longer list means the query needs more words.
RESULTS = 8
QUERY_MAX_LENGTH = 60


def normalise_query(query: str | None) -> str:
    return " ".join((query or "").split())[:QUERY_MAX_LENGTH]


def visible_parties(kind: str) -> QuerySet[Party]:
    return Party.objects.filter(kind=kind, approved_at__isnull=False)


def visible_sessions() -> QuerySet[LiveSession]:
    return LiveSession.objects.filter(owner__approved_at__isnull=False).select_related("room")


def _words(query: str) -> list[str]:
    return normalise_query(query).split()


def find_parties(query: str, kind: str) -> list[Party]:
    """Approved parties of `kind` whose name contains every word of the query; the shortest
    names first, since an exact name is the likeliest wish. One more than `RESULTS` is fetched
    to tell whether the list was cut."""
    words = _words(query)
    if not words:
        return []
    queryset = visible_parties(kind)
    for word in words:
        queryset = queryset.filter(name__icontains=word)
    return list(
        queryset.only("pk", "kind", "name").order_by(Length("name"), "name", "pk")[: RESULTS + 1]
    )


def find_sessions(query: str) -> list[LiveSession]:
    """Recent sessions whose room title or operator's name contains every word; newest first."""
    words = _words(query)
    if not words:
        return []
    queryset = visible_sessions()
    for word in words:
        queryset = queryset.filter(Q(room__title__icontains=word) | Q(owner__name__icontains=word))
    return list(
        queryset.only("pk", "status", "started_at", "room__title").order_by("-started_at", "-pk")[
            : RESULTS + 1
        ]
    )


def party_label(party: Party) -> str:
    return party.name


def session_label(session: LiveSession) -> str:
    started = timezone.localtime(session.started_at)
    state = _("on air now") if session.status == SessionStatus.LIVE else _("ended")
    # Translators: a live session in a list: room title, start time, whether it is on air.
    return _("%(title)s · started %(start)s · %(state)s") % {
        "title": session.room.title,
        "start": started.strftime("%Y-%m-%d %H:%M"),
        "state": state,
    }
