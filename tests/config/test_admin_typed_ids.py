"""Ids typed into the workbench -- a search box, a filter in the address, a link's parameter --
that no row can have are answered like any id that matches nothing, never with a server error:
'²' and '①' pass str.isdigit() but not int(), a 5,000-digit number is more than int() converts,
and 2**63 is beyond any primary key."""

import pytest
from django.test import Client

from tests.accounts.test_roles import verified_client
from tests.factories import UserFactory

NOT_IDS = ["²", "①", "9" * 5000, str(2**63)]

PAGES = [
    ("/admin/accounts/party/", "q"),
    ("/admin/complaints/case/", "assignee"),
    ("/admin/credit/creditevent/", "party"),
    ("/admin/credit/ruleset/add/", "from"),
    ("/admin/enforcement/measure/", "party"),
    ("/admin/enforcement/depositaccount/top-up/", "party"),
    ("/admin/liverooms/livesession/coverage/", "hours"),
    ("/admin/liverooms/alert/", "q"),
]


@pytest.fixture
def superuser(db):
    return verified_client(
        Client(raise_request_exception=False), UserFactory(is_staff=True, is_superuser=True)
    )


@pytest.mark.parametrize("value", NOT_IDS, ids=["superscript", "circled", "5000 digits", "2**63"])
@pytest.mark.parametrize(("path", "parameter"), PAGES, ids=[p for p, _ in PAGES])
def test_an_id_no_row_can_have_finds_nothing_instead_of_failing(superuser, path, parameter, value):
    assert superuser.get(path, {parameter: value}).status_code == 200
