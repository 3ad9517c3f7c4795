"""Every change list on the workbench issues as many queries for a long page as for a short one:
no column, filter or count may cost a query per row. One test per registered ModelAdmin, so that
a new admin is guarded from the day it is registered (and fails here until it has a builder in
tests/config/admin_rows.py)."""

from __future__ import annotations

import io

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.accounts.test_roles import verified_client
from tests.config.admin_rows import BUILDERS
from tests.factories import UserFactory

SHORT_PAGE = 2
LONG_PAGE = 8

REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def changelist_url(model) -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/"


@pytest.fixture
def superuser(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=io.StringIO())
    user = UserFactory(is_staff=True, is_superuser=True)
    return verified_client(Client(), user)


def render(client, model, model_admin, monkeypatch, per_page: int):
    monkeypatch.setattr(model_admin, "list_per_page", per_page)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(changelist_url(model))
    assert response.status_code == 200, response
    return response, captured


def test_every_registered_admin_has_a_row_builder():
    missing = sorted({model._meta.label for model, _ in REGISTERED} - set(BUILDERS))
    assert missing == [], f"add a builder to tests/config/admin_rows.py for {missing}"
    stale = sorted(set(BUILDERS) - {model._meta.label for model, _ in REGISTERED})
    assert stale == [], f"builders for models no longer registered: {stale}"


def short_and_long(client, model, model_admin, monkeypatch) -> tuple[list, list]:
    """The queries of a short page and of a long one, with rows enough for both."""
    builder = BUILDERS.get(model._meta.label)
    assert builder is not None, f"no row builder for {model._meta.label} (admin_rows.BUILDERS)"
    builder(SHORT_PAGE + 1)
    # The first view fills the per-process caches (content types, the rule set in force).
    render(client, model, model_admin, monkeypatch, SHORT_PAGE)
    short, short_queries = render(client, model, model_admin, monkeypatch, SHORT_PAGE)
    assert len(short.context["cl"].result_list) == SHORT_PAGE

    builder(2 * LONG_PAGE)
    long, long_queries = render(client, model, model_admin, monkeypatch, LONG_PAGE)
    assert len(long.context["cl"].result_list) == LONG_PAGE
    assert long.context["cl"].multi_page
    return short_queries.captured_queries, long_queries.captured_queries


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTERED, ids=[model._meta.label for model, _ in REGISTERED]
)
def test_the_change_list_query_count_does_not_grow_with_the_page(
    superuser, model, model_admin, monkeypatch
):
    short, long = short_and_long(superuser, model, model_admin, monkeypatch)
    assert len(long) <= len(short), "\n".join(q["sql"] for q in long)


def test_the_guard_sees_a_column_that_costs_a_query_per_row(superuser, monkeypatch):
    """Without its join, the restrictions' party column reads each party on its own: the long
    page must then cost more, or the guard above proves nothing."""
    from accounts.models import Restriction

    model_admin = admin.site._registry[Restriction]
    monkeypatch.setattr(model_admin, "list_select_related", [])
    short, long = short_and_long(superuser, Restriction, model_admin, monkeypatch)
    assert len(long) >= len(short) + LONG_PAGE - SHORT_PAGE
