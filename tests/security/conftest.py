import pytest
from django.db import transaction
from django.test.utils import override_settings


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The matrix's data, built once per module: seeding it for each of several hundred tests
    would take longer than the tests. An outer transaction keeps it out of other modules; each
    test's own savepoint (the `db` fixture) rolls back what that test changed."""
    from tests.security import world as world_module

    media = override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media")))
    with django_db_blocker.unblock():
        media.enable()
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield world_module.build()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            media.disable()
