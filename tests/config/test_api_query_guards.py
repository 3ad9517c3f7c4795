"""Every list endpoint of the API costs the same number of queries for a full page as for a
short one: no serializer reads its rows' relations one row at a time.

The list endpoints are found in the URL configuration, through the schema drf-spectacular
builds from it: every GET whose answer is a page of records (or that takes a page size). A list
endpoint added later is guarded without anyone listing it here, and fails until tests/fuzz/world.py
knows how to make rows for it.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator

from tests.fuzz.world import ROWS, build_world, path_parameters

PAGE_SIZE_PARAMETERS = ("page_size", "limit")
# More rows than the short page holds in any list, fewer than the world and two more rows give.
PAGE = 8


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _is_list(schema: dict, operation: dict) -> str | None:
    """The page-size parameter of a list operation, or None if it is not a list."""
    names = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
    page_size = next((name for name in PAGE_SIZE_PARAMETERS if name in names), None)
    ok = operation.get("responses", {}).get("200", {})
    body = _resolve(schema, ok.get("content", {}).get("application/json", {}).get("schema", {}))
    results = _resolve(schema, body.get("properties", {}).get("results", {}))
    if body.get("type") == "array" or results.get("type") == "array":
        # A list without a page size would answer with the whole table.
        return page_size or "(no page size)"
    return page_size


def list_endpoints() -> dict[str, str]:
    """Path template -> its page-size parameter, for every list endpoint under /api/v1/."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = {}
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if path.startswith("/api/v1/") and get is not None:
            page_size = _is_list(schema, get)
            if page_size is not None:
                found[path] = page_size
    return found


LISTS = list_endpoints()


def test_the_guards_find_the_list_endpoints():
    # The finder itself: the lists of every app, and the public lists outside the routers.
    assert {
        "/api/v1/parties/",
        "/api/v1/deposit-accounts/{party_id}/entries/",
        "/api/v1/public/credit/parties/",
        "/api/v1/credit/feed/",
    } <= set(LISTS)
    assert "/api/v1/parties/{id}/" not in LISTS and "/api/v1/key/" not in LISTS


def test_every_list_endpoint_has_a_page_size_and_rows_to_page_through():
    assert {path for path, size in LISTS.items() if size not in PAGE_SIZE_PARAMETERS} == set()
    assert set(LISTS) - set(ROWS) == set(), "add a row builder to tests/fuzz/world.py"
    assert set(ROWS) - set(LISTS) == set(), "a row builder for a list that is gone"


def _rows(body: dict) -> list:
    if isinstance(body, list):
        return body
    return body["results"] if "results" in body else body["entries"]


def _page(client, url: str, page_size: str) -> tuple[list, int]:
    """A page of PAGE rows and the queries it took. The same page is asked for first, so that
    what a process keeps for a few seconds (the key, the rules in force) is kept, as it is on a
    busy server, whatever time building the rows took."""
    client.get(url, {page_size: PAGE})
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {page_size: PAGE})
    assert response.status_code == 200, response.content
    return _rows(response.json()), len(queries)


@pytest.mark.parametrize("path", sorted(LISTS))
def test_a_full_page_costs_no_more_queries_than_a_short_one(path, api, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    add_rows = ROWS.get(path)
    if add_rows is None:
        pytest.fail(f"no row builder for {path} in tests/fuzz/world.py")
    world = build_world()
    url = path.format(**path_parameters(world))

    add_rows(world, 2)
    short, short_queries = _page(api, url, LISTS[path])
    add_rows(world, PAGE)
    full, full_queries = _page(api, url, LISTS[path])

    assert 0 < len(short) < PAGE, "the short page is neither empty nor full"
    assert len(full) == PAGE
    assert full_queries <= short_queries, (
        f"{path}: {short_queries} queries for {len(short)} rows, {full_queries} for {PAGE}"
    )
