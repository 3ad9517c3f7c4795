import pytest
from rest_framework.test import APIClient

from accounts import services
from accounts.scopes import SCOPES
from tests.factories import TEST_ACTOR


def pytest_collection_modifyitems(config, items):
    """A test marked `postgres` needs PostgreSQL itself (row locks, statistics). `make unit`
    leaves them out and `make integration` runs them on PostgreSQL; run by hand on SQLite, each
    is skipped with the reason, instead of failing on what SQLite cannot do. (Under CI both
    runs are made, so none is skipped there.)"""
    from django.conf import settings

    _transactional_tests_are_serialized(items)
    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (row locks); run by `make integration`")
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


def _transactional_tests_are_serialized(items) -> None:
    """A transactional test outside tests/integration restores the migrated data it flushes
    (serialized_rollback). Flushed without it, the database is left with post_migrate's roles
    made again under new ids and without the migrations' data (the rule pack, the calendar), and
    the next serialized test's restore collides with the new roles: an error that depends on the
    order the tests happen to run in. tests/integration runs alone (make integration)."""
    unserialized = [
        item.nodeid
        for item in items
        if (marker := item.get_closest_marker("django_db")) is not None
        and marker.kwargs.get("transaction")
        and not marker.kwargs.get("serialized_rollback")
        and not item.nodeid.startswith("tests/integration/")
    ]
    if unserialized:
        raise pytest.UsageError(
            "transactional tests without serialized_rollback=True: " + ", ".join(unserialized)
        )


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Tests talk to nothing but loopback: a stray call to the outside fails loudly."""
    import socket

    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if (
            isinstance(host, str)
            and host not in ("127.0.0.1", "::1", "localhost")
            and "/" not in host
        ):
            raise RuntimeError(f"network access to {address!r} in a test")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters and axes state live in the cache; each test starts clean.
    from django.core.cache import cache

    cache.clear()
    _forget_process_caches()
    yield
    cache.clear()
    _forget_process_caches()


def _forget_process_caches():
    """What a process keeps for a minute (the rules in force, deposit requirements, peers'
    blacklistings) refers to rows: a test's database is rolled back or emptied under it."""
    from credit.scoring import forget_rules
    from credit.sharing import forget_shared_blacklists
    from enforcement.checks import forget_requirements

    forget_rules()
    forget_requirements()
    forget_shared_blacklists()


@pytest.fixture
def make_key(db):
    def make(scopes=tuple(SCOPES), party=None, name=None):
        name = name or f"key-{len(scopes)}-{party.pk if party else 'all'}-{id(scopes)}"
        return services.api_key_create(name=name, scopes=scopes, party=party, actor=TEST_ACTOR)

    return make


@pytest.fixture
def api(make_key):
    """An API client authenticated with a key holding every scope."""
    _key, raw = make_key()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client
