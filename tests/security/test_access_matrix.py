"""The access-control matrix: every workbench page and every API endpoint, asked by every kind of
principal, against a table of who may do what written down apart from the views.

Workbench: anonymous, the non-staff roles and a staff member without two-factor are sent to the
login page everywhere; a verified staff member gets the page where the grants give them its
permission and 403 (404 for an app index, as Django answers) elsewhere; a refused POST changes
no row. API: see test_api_* below.
"""

from __future__ import annotations

import re

import pytest
from django.db import transaction

from accounts.scopes import SCOPES
from tests.security import admin_pages, api_endpoints, expected, expected_api
from tests.security.snapshot import Writes
from tests.security.world import OUTSIDERS, PRINCIPALS

PAGES, UNCLASSIFIED, HANDLED = admin_pages.all_pages()
LOGIN = "login"


def outcome(response) -> int | str:
    if response.status_code in (301, 302) and response["Location"].startswith("/admin/login/"):
        return LOGIN
    return response.status_code


def test_every_workbench_url_is_in_the_matrix():
    assert UNCLASSIFIED == []
    assert admin_pages.served_admin_routes() - HANDLED == set()
    keys = [page.key for page in PAGES]
    assert len(keys) == len(set(keys))


@pytest.mark.django_db
def test_the_write_check_sees_a_permitted_change(world):
    """The "changed nothing" half of the matrix can fail: a lead's recompute writes, and is seen."""
    from credit.models import CreditScore

    score = CreditScore.objects.order_by("pk").first()
    with transaction.atomic(), Writes() as writes:
        response = world.client("compliance_lead").post(
            f"/admin/credit/creditscore/{score.pk}/recompute/"
        )
        transaction.set_rollback(True)
    assert response.status_code == 302
    assert "credit_creditscore" in writes.tables


def _expected_get(page, principal) -> tuple:
    if principal in OUTSIDERS:
        return (LOGIN,)
    return page.rule.ok if page.rule.allows(principal) else (page.rule.refused,)


def _post_allowed(page, principal) -> bool:
    if principal in OUTSIDERS:
        return False
    if page.model is not None:
        return expected.change_post_allowed(page.model, principal)
    return expected.POST_RULES.get(page.key, page.rule).allows(principal)


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES, ids=[page.key for page in PAGES])
def test_workbench_page(world, page):
    path = page.path()
    wrong = []
    for principal in PRINCIPALS:
        got = outcome(world.client(principal).get(path))
        want = _expected_get(page, principal)
        if got not in want:
            expected_text = " or ".join(map(str, want))
            wrong.append(f"GET  {principal:20} {path}: {got}, expected {expected_text}")
    if page.posts:
        for principal in PRINCIPALS:
            allowed = _post_allowed(page, principal)
            client = world.client(principal)
            # Each POST in a savepoint of its own: what a permitted one did is undone before the
            # next principal asks.
            with transaction.atomic(), Writes() as writes:
                got = outcome(client.post(path, {}))
                transaction.set_rollback(True)
            touched = [] if allowed else writes.tables
            if allowed:
                object_level = page.model in expected.CHANGED_ONLY_AS_DRAFTS and got == 403
                if got == LOGIN or (got == 403 and not object_level) or got >= 500:
                    wrong.append(f"POST {principal:20} {path}: {got}, expected to be let through")
            else:
                want = LOGIN if principal in OUTSIDERS else 403
                if got != want or touched:
                    wrong.append(
                        f"POST {principal:20} {path}: {got}, expected {want}"
                        + (f"; changed {', '.join(touched)}" if touched else "")
                    )
    assert not wrong, "\n" + "\n".join(wrong)


# --- the API ----------------------------------------------------------------------------------
#
# API keys are the API's principals. Each endpoint is asked with no key (401), a key with no
# scopes and a key with every scope but the one it needs (403, nothing written), a key with
# exactly its scope (let through), and a key bound to party A for A's records and for party B's:
# B's is the same 404 as a record that does not exist, or 403 where a party's key may not do
# this at all.

API_ROUTES = api_endpoints.served()
API_IDS = sorted(API_ROUTES)


def test_every_api_endpoint_is_in_the_matrix():
    assert sorted(set(API_ROUTES) - set(expected_api.ENDPOINTS)) == []
    assert sorted(set(expected_api.ENDPOINTS) - set(API_ROUTES)) == []


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", API_IDS, ids=[f"{n}:{m}" for n, m in API_IDS])
def test_api_endpoint(world, make_key, endpoint):
    _name, method = endpoint
    rule = expected_api.ENDPOINTS[endpoint]
    route = API_ROUTES[endpoint]
    ask = api_endpoints.Asker(method, make_key)
    detail = api_endpoints.is_detail(route)
    mine = theirs = None
    if rule.records is not None and (detail or method == "get"):
        mine, theirs = api_endpoints.two_parties(rule.records)
    path = api_endpoints.fill_detail(route, rule.records, mine.obj if mine else None)
    wrong = []

    def check(who, response, want, writes=None):
        ok = want(response.status_code) if callable(want) else response.status_code == want
        touched = writes.tables if writes is not None else []
        if not ok or touched:
            wrong.append(
                f"{method.upper()} {who:28} {response.request['PATH_INFO']}: "
                f"{response.status_code} {response.content[:120]!r}"
                + (f"; wrote {', '.join(touched)}" if touched else "")
            )

    if rule.scope is expected_api.PUBLIC:
        check("no key", ask(path, key=False), 200)
        assert not wrong, "\n" + "\n".join(wrong)
        return

    let_through = api_endpoints.let_through(method)
    response, writes = ask.refused(path, key=False)
    check("no key", response, 401, writes)
    response, writes = ask.refused(path, scopes=())
    if rule.scope == expected_api.ANY_KEY:
        check("key without scopes", response, let_through)
    else:
        check("key without scopes", response, 403, writes)
        others = tuple(s for s in SCOPES if s != rule.scope)
        response, writes = ask.refused(path, scopes=others)
        check("key with every other scope", response, 403, writes)
        check(f"key with {rule.scope}", ask(path, scopes=(rule.scope,)), let_through)

    if rule.party == expected_api.REFUSED:
        party = mine.party if mine else api_endpoints.some_party()
        response, writes = ask.refused(path, party=party)
        check("key bound to the party", response, 403, writes)
    elif rule.party == expected_api.OWN and mine is not None:
        check("key bound to A, A's record", ask(path, party=mine.party), let_through)
        if detail:
            other = api_endpoints.fill_detail(route, rule.records, theirs.obj)
            missing = api_endpoints.fill_detail(route, rule.records, None)
            answer_b, writes_b = ask.refused(other, party=mine.party)
            answer_none, _w = ask.refused(missing, party=mine.party)
            check("key bound to A, B's record", answer_b, 404, writes_b)
            if (answer_b.status_code, answer_b.content) != (
                answer_none.status_code,
                answer_none.content,
            ):
                wrong.append(
                    f"{method.upper()} key bound to A tells B's record {other} "
                    f"({answer_b.status_code} {answer_b.content[:80]!r}) from a missing one "
                    f"({answer_none.status_code} {answer_none.content[:80]!r})"
                )
        else:
            listed = api_endpoints.listed(ask(path, party=mine.party), rule.records)
            if api_endpoints.url_value(rule.records, mine.obj) not in listed:
                wrong.append(f"GET  key bound to A does not list A's own record: {listed}")
            if api_endpoints.url_value(rule.records, theirs.obj) in listed:
                wrong.append(f"GET  key bound to A lists B's record: {listed}")
    assert not wrong, "\n" + "\n".join(wrong)


# --- the public pages ---------------------------------------------------------------------------
#
# Outside the workbench and the API every page is public, except the two kinds of page with a
# secret in their URL: a complaint's tracking pages and a measure's statement of reasons. For
# those a wrong secret gets exactly the answer of a link to nothing.

SECRET_PAGES = {
    "complaints:track",
    "complaints:track_add",
    "complaints:track_withdraw",
    "complaints:track_confirm",
    "complaints:track_rate",
    "complaints:track_evidence",
    "enforcement:statement",
}
PUBLIC_PAGES = {
    "landing",
    "healthz",
    "set_language",
    "complaints:complaint_new",
    "complaints:report_new",
    "complaints:filed",
    "complaints:evaluation_new",
    "complaints:evaluation_thanks",
    "complaints:track_find",
    "enforcement:notices",
    "credit:directory",
    "credit:rules",
    "credit:rule_set",
    "credit:rule_set_json",
    "credit:profile",
    "api-schema",
    "api-docs",
}


def test_every_public_page_is_classified():
    served = {
        name
        for route, name in admin_pages._walk(admin_pages.get_resolver().url_patterns, "")
        if not route.startswith(("admin/", api_endpoints.PREFIX))
    }
    assert served - SECRET_PAGES - PUBLIC_PAGES == set()
    assert (SECRET_PAGES | PUBLIC_PAGES) - served == set()


_CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


def _page(response, path: str) -> tuple[int, bytes]:
    """Status and body, less what differs between any two requests: the per-request CSRF token
    and the page's own path (the language form returns to it)."""
    body = _CSRF.sub(b"", response.content).replace(path.encode(), b"<path>")
    return response.status_code, body


def _same_answer(client, method, real, guesses) -> list[str]:
    """Each guessed link gets the status and body of a link to nothing (`guesses[0]`): 404, or
    405 where the page does not take the method at all."""
    send = getattr(client, method)
    baseline = _page(send(guesses[0]), guesses[0])
    wrong = [] if baseline[0] in (404, 405) else [f"{guesses[0]}: {baseline[0]}"]
    for path in guesses[1:]:
        with transaction.atomic(), Writes() as writes:
            response = send(path)
            transaction.set_rollback(True)
        if _page(response, path) != baseline:
            wrong.append(f"{method.upper()} {path}: {response.status_code}, unlike {guesses[0]}")
        if writes.tables:
            wrong.append(f"{method.upper()} {path} wrote {writes.tables}")
    if baseline[0] == 404 and send(real).status_code == 404:
        wrong.append(f"{method.upper()} {real}: the right link does not open")
    return wrong


TRACKING = [
    (page, method)
    for page in ("", "add/", "withdraw/", "confirm/", "rate/", "evidence")
    for method in ("get", "post")
    if (page, method) != ("evidence", "post")  # evidence is only downloaded
]


@pytest.mark.django_db
@pytest.mark.parametrize(("page", "method"), TRACKING)
def test_a_wrong_tracking_token_is_a_link_to_nothing(world, page, method):
    from complaints.models import Case, Evidence
    from complaints.services import tracking_token

    evidence = Evidence.objects.exclude(file="").order_by("pk").first()
    case = evidence.case
    other = Case.objects.exclude(pk=case.pk).order_by("pk").first()
    token = tracking_token(case)
    if page == "evidence":
        page = f"evidence/{evidence.pk}/"
        # Another case's evidence under this case's link is no more found than a missing one.
        their = Evidence.objects.create(
            case=other,
            file=evidence.file,
            content_type=evidence.content_type,
            sha256="0" * 64,
            width=evidence.width,
            height=evidence.height,
        )
        extra = [f"/track/{case.tracking_code}/{token}/evidence/{their.pk}/"]
    else:
        extra = []
    guesses = [
        f"/track/CZZZZZZZZZ/{token}/{page}",
        f"/track/{case.tracking_code}/{tracking_token(other)}/{page}",
        f"/track/{case.tracking_code}/{token[:-1]}x/{page}",
        f"/track/{case.tracking_code}/x/{page}",
        *extra,
    ]
    real = f"/track/{case.tracking_code}/{token}/{page}"
    wrong = _same_answer(world.client("anonymous"), method, real, guesses)
    assert not wrong, "\n" + "\n".join(wrong)


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_wrong_statement_token_is_a_link_to_nothing(world, method):
    import uuid

    from enforcement.models import Measure
    from enforcement.services import statements

    measure, other = Measure.objects.filter(executed_at__isnull=False).order_by("pk")[:2]
    token = statements.token(measure)
    guesses = [
        f"/statements/{uuid.uuid4()}/{token}/",
        f"/statements/{measure.puid}/{statements.token(other)}/",
        f"/statements/{measure.puid}/{token[:-1]}x/",
    ]
    real = f"/statements/{measure.puid}/{token}/"
    wrong = _same_answer(world.client("anonymous"), method, real, guesses)
    assert not wrong, "\n" + "\n".join(wrong)
