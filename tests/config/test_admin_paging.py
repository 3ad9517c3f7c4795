"""The change lists of big tables count at most a bounded number of rows, say so on the page, and
on PostgreSQL count the unfiltered list from the statistics instead of a COUNT(*)."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.admin_paging import BoundedCountPaginator
from accounts.models import Party, PartyKind, WebhookDelivery
from tests.accounts.test_roles import verified_client
from tests.config.admin_rows import BUILDERS, copies
from tests.factories import UserFactory, register_party

PARTIES = "/admin/accounts/party/"


@pytest.fixture
def client(db):
    return verified_client(Client(), UserFactory(is_staff=True, is_superuser=True))


@pytest.fixture
def parties(db):
    """Seven merchants and one anchor."""
    register_party(PartyKind.ANCHOR, name="小雨")
    register_party(PartyKind.MERCHANT, name="西子良品")
    copies(Party, 6)
    return Party.objects.all()


def count_queries(captured) -> list[str]:
    """The queries that count rows (not the page's own, which counts per row in a subquery)."""
    return [q["sql"] for q in captured if q["sql"].lstrip().upper().startswith("SELECT COUNT(")]


def test_a_list_longer_than_the_bound_is_said_to_have_more(client, parties, monkeypatch):
    monkeypatch.setattr(BoundedCountPaginator, "count_limit", 4)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(PARTIES, {"kind__exact": PartyKind.MERCHANT})
    cl = response.context["cl"]
    assert cl.paginator.count_is_bounded and not cl.paginator.count_is_estimate
    # The count stops reading at the bound.
    (count,) = count_queries(captured)
    assert re.search(r"LIMIT 5\b", count), count
    text = response.content.decode()
    assert re.search(r'class="result-count-bounded">[^<]*\b4\b', text), text


def test_select_all_on_a_bounded_list_promises_no_number(client, monkeypatch):
    """The action runs on every match, however many: "select all 4" would be a false promise."""
    BUILDERS["accounts.WebhookDelivery"](6)
    monkeypatch.setattr(BoundedCountPaginator, "count_limit", 3)
    monkeypatch.setattr(admin.site._registry[WebhookDelivery], "list_per_page", 2)
    text = client.get("/admin/accounts/webhookdelivery/").content.decode()
    # The workbench speaks Chinese first.
    assert "选择全部匹配的" in text and "（超过 3 个）" in text
    assert "选中所有的 4 个" not in text  # Django's own "Select all 4 …"


def test_a_list_within_the_bound_is_counted_exactly(client, parties, monkeypatch):
    monkeypatch.setattr(BoundedCountPaginator, "count_limit", 100)
    response = client.get(PARTIES, {"kind__exact": PartyKind.MERCHANT})
    cl = response.context["cl"]
    assert cl.result_count == 7
    assert not cl.paginator.count_is_bounded and not cl.paginator.count_is_estimate
    assert 'class="result-count-bounded"' not in response.content.decode()


def test_the_first_pages_of_a_bounded_list_still_page(client, parties, monkeypatch):
    monkeypatch.setattr(BoundedCountPaginator, "count_limit", 4)
    monkeypatch.setattr(admin.site._registry[Party], "list_per_page", 2)
    first = client.get(PARTIES, {"kind__exact": PartyKind.MERCHANT})
    second = client.get(PARTIES, {"kind__exact": PartyKind.MERCHANT, "p": "2"})
    assert second.status_code == 200
    shown = [p.pk for p in first.context["cl"].result_list]
    assert shown and not set(shown) & {p.pk for p in second.context["cl"].result_list}


def test_a_search_beyond_the_bound_says_more_than(client, parties, monkeypatch):
    monkeypatch.setattr(BoundedCountPaginator, "count_limit", 2)
    response = client.get(PARTIES, {"q": "西子"})
    assert response.context["cl"].paginator.count_is_bounded
    text = response.content.decode()
    assert "超过 2 条结果" in text


def test_a_party_is_found_by_number_platform_reference_or_the_start_of_its_name(client, parties):
    anchor = Party.objects.get(name="小雨")

    def found(term):
        return {p.pk for p in client.get(PARTIES, {"q": term}).context["cl"].result_list}

    assert anchor.pk in found("小")
    assert found(anchor.platform_ref) == {anchor.pk}
    assert anchor.pk in found(str(anchor.pk))
    # The middle of a name is not a search the registry's index can serve.
    assert anchor.pk not in found("雨")


@pytest.mark.postgres
def test_the_unfiltered_list_on_postgresql_reads_no_whole_table_count(client, parties, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's statistics only")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_party")
    monkeypatch.setattr(BoundedCountPaginator, "estimate_above", 0)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(PARTIES)
    cl = response.context["cl"]
    assert cl.paginator.count_is_estimate
    assert 'class="result-count-estimate"' in response.content.decode()
    sql = [q["sql"] for q in captured]
    assert any("reltuples" in q for q in sql)
    # Every COUNT on the page is bounded (LIMIT) or narrowed (WHERE): none reads the table.
    for query in count_queries(captured):
        assert " LIMIT " in query or " WHERE " in query, query

    # A filtered list is counted, up to the bound.
    with CaptureQueriesContext(connection) as captured:
        response = client.get(PARTIES, {"kind__exact": PartyKind.MERCHANT})
    assert response.context["cl"].result_count == 7
    (count,) = [q for q in count_queries(captured) if "accounts_party" in q]
    assert " LIMIT " in count, count


@pytest.mark.postgres
def test_select_all_on_an_estimated_list_says_about(client, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's statistics only")
    BUILDERS["accounts.WebhookDelivery"](6)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_webhookdelivery")
    monkeypatch.setattr(BoundedCountPaginator, "estimate_above", 0)
    monkeypatch.setattr(admin.site._registry[WebhookDelivery], "list_per_page", 2)
    response = client.get("/admin/accounts/webhookdelivery/")
    assert response.context["cl"].paginator.count_is_estimate
    text = response.content.decode()
    # The workbench speaks Chinese first: "Select all matching … (about N)".
    assert "选择全部匹配的" in text and "（约 " in text
