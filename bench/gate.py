"""The go-live gate under load: decisions per second and latency under gunicorn, beside a bare
Django view measured in the same run, and the queries per decision.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lcc_bench .venv/bin/python bench/gate.py

(or `make bench-gate`). It reuses bench/registration.py's database and its 1,000,000 synthetic
parties (generating them the same way if they are missing), migrates, then:

  1. builds a go-live population through the real services: approved merchants, each with a
     registration file, a business licence scan, three listed products and live rooms; approved,
     trained anchors; restrictions imposed on some of each. Only what is missing is created.
  2. counts the queries of one decision in-process (CaptureQueriesContext and the test client):
     1 anchor and 1 product against 4 anchors and 10 products, allowed and refused.
  3. times the phases of a decision in-process: key look-up, throttle, body, the gate's read,
     decide, its write, the answer; and lists the connection's prepared statements.
  4. measures what counting a request for the throttle costs, against Django's cache API.
  4b. counts the instructions per request of the Python serving it with callgrind, when valgrind
     is installed: the bare view, the REST framework skeleton, refused and allowed decisions.
  5. serves the product with gunicorn under the production settings, and bench/bare_wsgi.py with
     a second gunicorn, and drives both with wrk: a bare Django view, the same with one query,
     the API's authentication alone, refused decisions (403, one write), allowed decisions on
     distinct rooms (201, one write), and both kinds on one connection (latency without
     queueing); with py-spy available, profiles the workers in separate runs.
  6. prints each target with PASS or FAIL and exits 1 if one fails.

See bench/README.md, section "`gate.py`: the go-live gate under load".
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lcc_bench")

# The registration benchmark: its database set-up, its 1M-party generator and its table helpers.
_spec = importlib.util.spec_from_file_location("bench_registration", BENCH / "registration.py")
reg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reg)
heading, table, percentile = reg.heading, reg.table, reg.percentile

# The targets.
TARGET_RPS = 1000.0
TARGET_P99_MS = 20.0

PATH = "/api/v1/live-sessions/"
CHECKLIST = {"script_reviewed": True, "set_reviewed": True, "products_reviewed": True}
PRODUCTS_PER_MERCHANT = 3
# Merchant n's business, by n % 4: every branch of the product checks is exercised and passes.
BUSINESSES = ["apparel", "food", "electronics", "health_food"]
RESTRICTED_ANCHOR_EVERY = 10  # anchor n with n % 10 == 0 is under a live restriction
RESTRICTED_MERCHANT_EVERY = 20  # merchant n with n % 20 == 0 is under a live restriction
ROOM_REF = "gate-r-"
# The tables the population writes and the gate reads.
ANALYZED = [
    "accounts_party",
    "accounts_registrationfile",
    "accounts_restriction",
    "anchors_anchorprofile",
    "anchors_trainingrecord",
    "merchants_licence",
    "merchants_product",
    "liverooms_liveroom",
]


# --- 1. the go-live population ----------------------------------------------------------------


@dataclass
class Population:
    merchants: dict[int, int]  # n -> party id
    anchors: dict[int, int]
    products: dict[int, list[int]]  # merchant party id -> product ids
    rooms_ok: list[tuple[int, int]]  # (room id, owner id) of unrestricted merchants
    rooms_barred: list[tuple[int, int]]  # rooms of merchants under a live restriction
    anchors_ok: list[int]
    anchors_barred: list[int]
    timings: dict[str, list[float]] = field(default_factory=dict)


def _reviewer():
    from accounts import services
    from accounts.actors import Actor
    from accounts.models import User

    user = User.objects.filter(username="bench-gate-reviewer").first()
    if user is None:
        user = User.objects.create(username="bench-gate-reviewer", email="reviewer@bench.example")
        services.user_set_roles(
            user=user, role_slugs=["compliance_reviewer"], actor=Actor.system("bench-gate")
        )
    return Actor.for_user(user)


def _approve(file, reviewer, actor) -> None:
    from accounts import registration

    result = registration.file_submit(file=file, actor=actor)
    if not result.accepted:
        raise RuntimeError(f"file {file.pk} refused at submission: {result.failures}")
    registration.file_approve(file=file, actor=reviewer)


def _merchant(n: int, reviewer, actor, image) -> None:
    from accounts import registration
    from accounts.demo import make_credit_code
    from merchants.services import LicenceData, business_file_create

    today = date.today()
    business = BUSINESSES[n % len(BUSINESSES)]
    licences = [LicenceData("business", f"GB{n:06d}", "杭州市市场监督管理局", date(2019, 3, 1))]
    if business in ("food", "health_food"):
        licences.append(
            LicenceData(
                "food_business",
                f"JY133010{n:08d}",
                "杭州市市场监督管理局",
                today - timedelta(days=400),
                today + timedelta(days=1400),
            )
        )
    file = business_file_create(
        kind="merchant",
        entity_type="enterprise",
        name=f"基准直播商贸有限公司{n:05d}",
        credit_code=make_credit_code("330106", 70_000_000 + n),
        representative="王基准",
        contact_phone="13800000000",
        address=f"杭州市西湖区基准路 {n} 号",
        categories=[business],
        licences=licences,
        platform_ref=f"gate-m-{n:05d}",
        actor=actor,
    )
    registration.document_add(file=file, kind="business_licence", upload=image(), actor=actor)
    _approve(file, reviewer, actor)


def _anchor(n: int, reviewer, actor) -> None:
    from accounts.demo import make_resident_id
    from accounts.models import Party
    from anchors.services import anchor_file_create, training_record

    today = date.today()
    birth = date(1984, 1, 1) + timedelta(days=n)  # 22 to 40 years old, one ID per day
    file = anchor_file_create(
        name=f"基准主播{n:05d}",
        id_number=make_resident_id("330106", birth, n % 400 + 1, female=n % 2 == 0),
        contact_phone="13900000000",
        address=f"杭州市余杭区主播路 {n} 号",
        platform_ref=f"gate-a-{n:05d}",
        actor=actor,
    )
    _approve(file, reviewer, actor)
    party = Party.objects.get(pk=file.party_id)
    training_record(
        anchor=party,
        kind="before_first_stream",
        completed_on=today - timedelta(days=30 + n % 300),
        provider="平台主播培训",
        hours=Decimal("4"),
        actor=actor,
    )
    if n % 3 == 0:
        training_record(
            anchor=party,
            kind="annual",
            completed_on=today - timedelta(days=10 + n % 20),
            provider="平台年度培训",
            hours=Decimal("2"),
            actor=actor,
        )


def _ensure_parties(kind: str, prefix: str, count: int, make) -> tuple[dict[int, int], list]:
    """Parties `prefix00001`..: creates the missing ones with `make(n)`, each in a transaction
    of its own (a crash leaves whole parties or none)."""
    from django.db import transaction

    from accounts.models import Party

    have = {
        int(ref[len(prefix) :]): pk
        for pk, ref in Party.objects.filter(
            kind=kind, platform_ref__startswith=prefix, approved_at__isnull=False
        ).values_list("pk", "platform_ref")
    }
    missing = [n for n in range(1, count + 1) if n not in have]
    times = []
    if missing:
        print(f"  {kind}s: {len(have):,} there, creating {len(missing):,} through the services")
    for i, n in enumerate(missing, 1):
        t0 = time.perf_counter()
        with transaction.atomic():
            make(n)
        times.append(time.perf_counter() - t0)
        if i % 250 == 0 or i == len(missing):
            print(
                f"    {i:>5,}/{len(missing):,}  median {statistics.median(times) * 1000:.0f} ms "
                f"each, {sum(times):.0f} s so far"
            )
    if missing:
        have = {
            int(ref[len(prefix) :]): pk
            for pk, ref in Party.objects.filter(
                kind=kind, platform_ref__startswith=prefix, approved_at__isnull=False
            ).values_list("pk", "platform_ref")
        }
    return {n: pk for n, pk in have.items() if n <= count}, times


def _ensure_products(merchants: dict[int, int], actor) -> tuple[dict[int, list[int]], list]:
    from accounts.models import Party
    from merchants.models import Product
    from merchants.services import product_register

    today = date.today()
    have: dict[int, list[int]] = {}
    for merchant_id, pk in Product.objects.filter(
        merchant_id__in=merchants.values(), platform_ref__startswith="gate-p-"
    ).values_list("merchant_id", "pk"):
        have.setdefault(merchant_id, []).append(pk)
    todo = [(n, pk) for n, pk in merchants.items() if len(have.get(pk, [])) < PRODUCTS_PER_MERCHANT]
    times = []
    if todo:
        print(
            f"  products: registering {PRODUCTS_PER_MERCHANT} for each of {len(todo):,} merchants"
        )
    parties = Party.objects.in_bulk([pk for _n, pk in todo])
    for n, pk in todo:
        business = BUSINESSES[n % len(BUSINESSES)]
        extra = {}
        if business == "electronics":
            extra = {
                "ccc_certificate": f"2024011606{n:06d}",
                "ccc_valid_until": today + timedelta(days=900),
            }
        if business == "health_food":
            extra = {
                "ad_review_number": f"食健广审(文)第2025{n:06d}号",
                "ad_review_valid_until": today + timedelta(days=700),
            }
        for k in range(1, PRODUCTS_PER_MERCHANT + 1):
            t0 = time.perf_counter()
            product = product_register(
                merchant=parties[pk],
                platform_ref=f"gate-p-{n:05d}-{k}",
                title=f"基准商品 {n}-{k}",
                category=business,
                actor=actor,
                **extra,
            )
            times.append(time.perf_counter() - t0)
            have.setdefault(pk, [])
            if product.pk not in have[pk]:
                have[pk].append(product.pk)
    return {pk: sorted(ids)[:PRODUCTS_PER_MERCHANT] for pk, ids in have.items()}, times


def _ensure_restrictions(party_ids: list[int], actor) -> int:
    """A live restriction in force, imposed through the service, on each of these parties."""
    from django.utils import timezone

    from accounts import services
    from accounts.models import Party, Restriction

    barred = set(
        Restriction.objects.in_force(timezone.now())
        .filter(party_id__in=party_ids, kind="live")
        .values_list("party_id", flat=True)
    )
    todo = [pk for pk in party_ids if pk not in barred]
    for party in Party.objects.filter(pk__in=todo):
        services.restriction_impose(
            party=party,
            kind="live",
            reason="基准测试：违规直播，暂停直播",
            legal_basis="LCM Art. 14",
            actor=actor,
        )
    return len(todo)


def ensure_rooms(merchants: dict[int, int], total: int, actor) -> list[float]:
    """At least `total` rooms, spread evenly over the merchants. Each merchant's first room goes
    through `room_register`; the rest are bulk-inserted with the same fields (what room_register
    writes, less the registration event on the room's timeline, which the gate does not read)."""
    from liverooms.models import LiveRoom
    from liverooms.services import room_register

    per = max(1, math.ceil(total / len(merchants)))
    have = set(
        LiveRoom.objects.filter(platform_ref__startswith=ROOM_REF).values_list(
            "platform_ref", flat=True
        )
    )
    wanted = [(n, k) for n in merchants for k in range(1, per + 1)]
    missing = [(n, k) for n, k in wanted if f"{ROOM_REF}{n:05d}-{k:03d}" not in have]
    if not missing:
        return []
    print(f"  rooms: {len(have):,} there, adding {len(missing):,} ({per} per merchant)")
    from accounts.models import Party

    owners = Party.objects.in_bulk(list(merchants.values()))
    times, bulk = [], []
    for n, k in missing:
        owner = owners[merchants[n]]
        fields = {
            "title": f"基准直播间 {n}-{k}",
            "category": BUSINESSES[n % len(BUSINESSES)],
            "followers": (n * 7919 + k * 104_729) % 2_000_000,
            "monthly_sales_fen": (n * 31 + k * 17) % 500_000 * 100,
        }
        ref = f"{ROOM_REF}{n:05d}-{k:03d}"
        if k == 1:
            t0 = time.perf_counter()
            room_register(owner=owner, platform_ref=ref, actor=actor, **fields)
            times.append(time.perf_counter() - t0)
        else:
            bulk.append(LiveRoom(owner=owner, platform_ref=ref, **fields))
    LiveRoom.objects.bulk_create(bulk, batch_size=5000)
    return times


def populate(args) -> Population:
    from django.test.utils import override_settings

    from accounts.actors import Actor
    from accounts.demo import demo_image
    from liverooms.models import LiveRoom

    heading("1. Go-live population (through the real services)")
    actor = Actor.system("bench-gate")
    reviewer = _reviewer()
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="lcc-gate-media-") as media,
        override_settings(MEDIA_ROOT=media),
    ):
        merchants, m_times = _ensure_parties(
            "merchant",
            "gate-m-",
            args.merchants,
            lambda n: _merchant(n, reviewer, actor, lambda: demo_image("business licence")),
        )
        anchors, a_times = _ensure_parties(
            "anchor", "gate-a-", args.anchors, lambda n: _anchor(n, reviewer, actor)
        )
    products, p_times = _ensure_products(merchants, actor)
    barred_merchants = [pk for n, pk in merchants.items() if n % RESTRICTED_MERCHANT_EVERY == 0]
    barred_anchors = [pk for n, pk in anchors.items() if n % RESTRICTED_ANCHOR_EVERY == 0]
    imposed = _ensure_restrictions(barred_merchants + barred_anchors, actor)
    r_times = ensure_rooms(merchants, args.rooms, actor)
    if m_times or a_times or p_times or r_times or imposed:
        from django.db import connection

        with connection.cursor() as cursor:  # fresh statistics for the planner
            for name in ANALYZED:
                cursor.execute(f"ANALYZE {name}")
    elapsed = time.perf_counter() - started

    timings = {
        "merchant (file, licence scan, submit, approve)": m_times,
        "anchor (file, submit, approve, training)": a_times,
        "product_register": p_times,
        "room_register": r_times,
    }
    rows = [
        (what, f"{len(t):,}", f"{statistics.median(t) * 1000:.1f}", f"{sum(t):.1f}")
        for what, t in timings.items()
        if t
    ]
    if rows:
        table(rows, ("created now", "count", "median ms", "total s"))
    if imposed:
        print(f"  imposed {imposed} live restrictions through restriction_impose")
    print(f"  population ready in {elapsed:.1f} s")
    barred_m = set(barred_merchants)
    rooms = list(
        LiveRoom.objects.filter(platform_ref__startswith=ROOM_REF)
        .order_by("pk")
        .values_list("pk", "owner_id")
    )
    pop = Population(
        merchants=merchants,
        anchors=anchors,
        products=products,
        rooms_ok=[r for r in rooms if r[1] not in barred_m and r[1] in products],
        rooms_barred=[r for r in rooms if r[1] in barred_m],
        anchors_ok=[pk for n, pk in sorted(anchors.items()) if n % RESTRICTED_ANCHOR_EVERY],
        anchors_barred=sorted(barred_anchors),
        timings=timings,
    )
    table(
        [
            ("approved merchants", f"{len(merchants):,}", f"{len(barred_merchants):,}"),
            ("approved, trained anchors", f"{len(anchors):,}", f"{len(barred_anchors):,}"),
            ("listed products", f"{sum(len(v) for v in products.values()):,}", ""),
            ("live rooms", f"{len(rooms):,}", f"{len(pop.rooms_barred):,}"),
        ],
        ("population", "count", "under a live restriction (or owned by one)"),
    )
    return pop


def end_sessions() -> int:
    """Ends every bench session still on air (the platform would POST .../end/ for each), then
    vacuums the sessions' table, as autovacuum would soon after a batch like this one.

    Each ended session leaves its old row version behind, and with it an entry in the unique
    index of live sessions by room, which an allowed decision's insert for that room checks
    until a vacuum removes it. PostgreSQL here runs with autovacuum off, so every run left some
    30,000 for the next: 418,148 on 2026-11-30 after an evening of runs. Vacuuming them took an
    allowed decision's PostgreSQL CPU beyond a refused one's from 0.135-0.150 to 0.110-0.115 ms
    (2,000 of each in-process, twice before and twice after): small, but growing with every
    run."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE liverooms_livesession SET status = 'ended', ended_at = now(), "
            "ended_reason = 'bench: ended in bulk' WHERE status = 'live' AND room_id IN "
            "(SELECT id FROM liverooms_liveroom WHERE platform_ref LIKE %s)",
            [ROOM_REF + "%"],
        )
        ended = cursor.rowcount
        if ended and connection.vendor == "postgresql":
            cursor.execute("VACUUM (ANALYZE) liverooms_livesession")
    return ended


# The floor baseline's table (bench/bare_wsgi.py, /api/v1/floor/): shaped like the refusals' --
# an identity key, the room by a deferred foreign key as Django declares them, the time indexed,
# the request as JSON -- so that its write costs what a refusal's does, without the product.
FLOOR_TABLE = """
CREATE TABLE IF NOT EXISTS bench_floor (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    room_id bigint NOT NULL REFERENCES liverooms_liveroom (id) DEFERRABLE INITIALLY DEFERRED,
    at timestamptz NOT NULL,
    body jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS bench_floor_at ON bench_floor (at);
"""


def floor_table() -> None:
    """Creates the floor baseline's table if it is missing, and empties it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(FLOOR_TABLE)
        cursor.execute("TRUNCATE bench_floor")


def make_key(label: str) -> tuple[object, str]:
    from accounts.actors import Actor
    from accounts.services import api_key_create

    return api_key_create(
        name=f"bench-gate {time.strftime('%Y%m%d-%H%M%S')} {label}",
        scopes=["live:read", "live:write"],
        actor=Actor.system("bench-gate"),
    )


def body(room: int, anchors: list[int], products: list[int]) -> dict:
    return {
        "room_id": room,
        "anchor_ids": anchors,
        "product_ids": products,
        "ai_generated": False,
        "pre_stream_checklist": CHECKLIST,
    }


def allowed_bodies(pop: Population) -> list[dict]:
    """One per free room: an unrestricted anchor and the owner's three products."""
    ok = pop.anchors_ok
    return [
        body(room, [ok[i % len(ok)]], pop.products[owner])
        for i, (room, owner) in enumerate(pop.rooms_ok)
    ]


def refused_bodies(pop: Population, count: int = 4000) -> list[dict]:
    """Half: a free room and its products with an anchor under a live restriction; half: a
    room of a restricted merchant with an unrestricted anchor. One reason each; 403."""
    out = []
    for i in range(count):
        if i % 2 == 0:
            room, owner = pop.rooms_ok[i % len(pop.rooms_ok)]
            anchors = [pop.anchors_barred[i % len(pop.anchors_barred)]]
        else:
            room, owner = pop.rooms_barred[i % len(pop.rooms_barred)]
            anchors = [pop.anchors_ok[i % len(pop.anchors_ok)]]
        out.append(body(room, anchors, pop.products[owner]))
    return out


# --- 2. queries per decision ------------------------------------------------------------------


def _client(raw_key: str):
    from django.test import Client

    return Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}")


def _post(client, data: dict):
    from django.db import close_old_connections

    # What Django's handler does at request_started, which the test client leaves out: with
    # CONN_HEALTH_CHECKS the next query is preceded by a health check, as under gunicorn.
    close_old_connections()
    return client.post(PATH, data=json.dumps(data), content_type="application/json")


_HEALTH_CHECKS = [0]


def health_checks() -> int:
    """Counts Django's connection health checks (is_usable: a SELECT 1 sent straight through
    psycopg) in this process."""
    from django.db import connection

    if not getattr(connection, "_bench_counted", False):
        original = connection.is_usable

        def counted():
            _HEALTH_CHECKS[0] += 1
            return original()

        connection.is_usable = counted
        connection._bench_counted = True
    return _HEALTH_CHECKS[0]


def query_counts(pop: Population, raw_key: str) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    heading("2. Queries per decision (in-process: test client, CaptureQueriesContext)")
    client = _client(raw_key)
    rooms = pop.rooms_ok
    ok, barred = pop.anchors_ok, pop.anchors_barred
    # 10 products from four merchants (3 + 3 + 3 + 1): a room selling others' goods too.
    owners = [owner for _room, owner in rooms[:40:10]]
    ten = [p for owner in owners for p in pop.products[owner]][:10]
    cases = [
        ("allowed", "1 anchor, 1 product", body(rooms[0][0], ok[:1], ten[:1]), 201),
        ("allowed", "4 anchors, 10 products", body(rooms[1][0], ok[1:5], ten), 201),
        ("refused", "1 anchor, 1 product", body(rooms[2][0], barred[:1], ten[:1]), 403),
        (
            "refused",
            "4 anchors, 10 products",
            body(rooms[3][0], [barred[1], *ok[5:8]], ten),
            403,
        ),
    ]
    end_sessions()
    _post(client, cases[2][2])  # the key's last_used_at is written at most once a minute
    results = []
    for outcome, label, data, expected in cases:
        timings: list[float] = []

        def timer(execute, sql, params, many, context, timings=timings):
            t0 = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                timings.append(time.perf_counter() - t0)

        checks = health_checks()
        with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(timer):
            t0 = time.perf_counter()
            response = _post(client, data)
            wall = time.perf_counter() - t0
        checks = health_checks() - checks
        if response.status_code != expected:
            print(f"  UNEXPECTED {response.status_code} for {label}: {response.content[:300]!r}")
        queries = list(ctx.captured_queries)
        # Django logs BEGIN and COMMIT, which do not pass through execute wrappers.
        executed = [q for q in queries if q["sql"] not in TRANSACTION_CONTROL]
        for q, seconds in zip(executed, timings, strict=False):
            q["seconds"] = seconds
        results.append(
            {
                "outcome": outcome,
                "label": label,
                "status": response.status_code,
                "queries": queries,
                "wall": wall,
                "health_checks": checks,
            }
        )
    end_sessions()
    table(
        [
            (
                r["outcome"],
                r["label"],
                r["status"],
                len(r["queries"]),
                f"{sum(q.get('seconds', 0) for q in r['queries']) * 1000:.2f}",
            )
            for r in results
        ],
        ("decision", "involving", "HTTP", "queries", "SQL ms (round trips)"),
    )
    print(
        "  queries: every statement Django sent, BEGIN and COMMIT included; SQL ms: their round "
        "trips as Django saw them,\n  BEGIN and COMMIT not timed (they bypass execute wrappers)."
        f"\n  Plus {', '.join(str(r['health_checks']) for r in results)} connection health "
        "check(s) per request: with CONN_HEALTH_CHECKS = True (config/settings/base.py)\n  Django"
        " sends its own SELECT 1 on the first use of the connection in each request, past "
        "CaptureQueriesContext;\n  the gate's read stands in for it (liverooms/prepared.py). "
        "Under query logging the statements run unprepared, so the\n  planning times below are "
        "what the prepared statements save (section 3 lists them)."
    )
    sizes = table_rows()
    scans = []
    for r in (results[1], results[3]):
        print(
            f"\n  the queries of the {r['outcome']} decision with {r['label']}: round trip seen"
            " by Django; PostgreSQL's planning + execution (EXPLAIN ANALYZE, run afterwards)"
        )
        for i, q in enumerate(r["queries"], 1):
            sql = q["sql"]
            server = ""
            head = sql.lstrip().upper()
            reads = head.startswith("SELECT") or (
                head.startswith("WITH") and not re.search(r"\b(INSERT|UPDATE|DELETE)\b", head)
            )
            if reads:  # EXPLAIN ANALYZE runs the statement: reads only
                plan, exec_ms, plan_ms = reg.explain(sql, planning=True)
                server = f"{plan_ms:5.2f} + {exec_ms:5.2f}"
                for t in reg.seq_scans(plan):
                    scans.append(f"{t} ({sizes.get(t, 0):,} rows)")
            seen = f"{q['seconds'] * 1000:5.2f} ms" if "seconds" in q else "(not timed)"
            print(f"   {i:>2}. {seen:>11}  {server:>13}  {reg.short_sql(sql, 110)}")
    scans = sorted(set(scans))
    big = [s for s in scans if sizes.get(s.split()[0], 0) > SMALL_TABLE]
    print(
        f"  sequential scans: {', '.join(scans) or 'none'}; on tables over {SMALL_TABLE:,} "
        f"rows: {', '.join(big) or 'none'}"
    )
    by = {(r["outcome"], r["label"]): len(r["queries"]) for r in results}
    return {
        "allowed": (by[("allowed", cases[0][1])], by[("allowed", cases[1][1])]),
        "refused": (by[("refused", cases[2][1])], by[("refused", cases[3][1])]),
        "statuses_ok": all(r["status"] == c[3] for r, c in zip(results, cases, strict=True)),
        "scans": big,
        "wall": {(r["outcome"], r["label"]): r["wall"] for r in results},
        "health_checks": max(r["health_checks"] for r in results),
    }


TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK"}
SMALL_TABLE = 10_000  # a sequential scan of a table this small is the planner's right choice


def table_rows() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples::bigint FROM pg_class WHERE relkind = 'r' "
            "AND relnamespace = 'public'::regnamespace"
        )
        return dict(cursor.fetchall())


# --- 3. where the time goes in one decision (in-process) -------------------------------------


@contextmanager
def phase_timers():
    """Wraps the functions one decision passes through (in this process only) and attributes
    wall time and SQL time to each; yields the accumulator."""
    from django.db import connection

    from accounts.api.authentication import ApiKeyAuthentication
    from config.api.throttling import ApiKeyRateThrottle
    from liverooms import gate, services
    from liverooms.api import golive

    acc: dict[str, dict[str, float]] = {}
    stack: list[str] = ["framework"]
    targets = [
        (connection, "is_usable", "connection health check"),
        (ApiKeyAuthentication, "authenticate", "auth: API key look-up"),
        (ApiKeyRateThrottle, "allow_request", "throttle (Redis)"),
        (golive, "answer", "view"),
        (golive, "_body", "body: parse, field types"),
        (gate, "load_context", "gate: the read (load_context)"),
        (gate, "decide", "gate: decide"),
        (services, "_insert", "gate: the write"),
        (services, "_insert_session", "gate: the write"),
    ]
    originals = []

    def wrap(owner, name, label):
        original = getattr(owner, name)
        originals.append((owner, name, original))

        def wrapper(*a, **kw):
            stack.append(label)
            t0 = time.perf_counter()
            try:
                return original(*a, **kw)
            finally:
                entry = acc.setdefault(label, {"wall": 0.0, "sql": 0.0, "n": 0})
                entry["wall"] += time.perf_counter() - t0
                entry["calls"] = entry.get("calls", 0) + 1
                stack.pop()

        setattr(owner, name, wrapper)

    def sql_timer(execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            entry = acc.setdefault(stack[-1], {"wall": 0.0, "sql": 0.0, "n": 0})
            entry["sql"] += time.perf_counter() - t0
            entry["n"] += 1

    for owner, name, label in targets:
        wrap(owner, name, label)
    try:
        with connection.execute_wrapper(sql_timer):
            yield acc
    finally:
        for owner, name, original in reversed(originals):
            setattr(owner, name, original)


def phases(pop: Population, raw_key: str, redis_url: str, count: int) -> dict:
    from django.test.utils import override_settings

    heading(f"3. Where the time goes in one decision (in-process, {count} of each, Redis cache)")
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "lccgate",
        }
    }
    out = {}
    with override_settings(CACHES=caches):
        client = _client(raw_key)
        for mix, bodies, expected in (
            ("allowed", allowed_bodies(pop)[-count - 20 :], 201),
            ("refused", refused_bodies(pop, count + 20), 403),
        ):
            end_sessions()
            for data in bodies[:20]:  # warm-up
                _post(client, data)
            end_sessions()
            totals = []
            with phase_timers() as acc:
                t_start = time.perf_counter()
                for data in bodies[20 : 20 + count]:
                    t0 = time.perf_counter()
                    response = _post(client, data)
                    totals.append(time.perf_counter() - t0)
                    if response.status_code != expected:
                        raise RuntimeError(f"{mix}: {response.status_code} {response.content!r}")
                wall = time.perf_counter() - t_start
            end_sessions()
            out[mix] = _phase_table(mix, acc, totals, wall)
    statements = prepared_statements()
    print(
        "\n  prepared statements on this process's connection; a generic plan is a run that "
        "PostgreSQL did not plan again"
    )
    table(
        [(text, f"{generic:,}", f"{custom:,}") for text, generic, custom in statements]
        or [("none (DB_PREPARED_STATEMENTS off?)", "", "")],
        ("statement", "generic plans", "custom plans"),
    )
    out["prepared"] = statements
    return out


def _phase_table(mix: str, acc: dict, totals: list[float], wall: float) -> dict:
    n = len(totals)

    def w(label):
        return acc.get(label, {}).get("wall", 0.0)

    def s(label):
        return acc.get(label, {}).get("sql", 0.0)

    check = "connection health check"
    auth = "auth: API key look-up"
    throttle = "throttle (Redis)"
    body = "body: parse, field types"
    read = "gate: the read (load_context)"
    decide = "gate: decide"
    write = "gate: the write"
    writes = f"{write} ({'refusal record' if mix == 'refused' else 'session, anchors, products'})"
    inner = (auth, throttle, body, read, decide, write)
    rows = [
        ("connection health check (SELECT 1)", check, w(check), w(check)),
        (auth, auth, w(auth) - w(check), s(auth)),
        (throttle, throttle, w(throttle), 0.0),
        (body, body, w(body), 0.0),
        (read, read, w(read), s(read)),
        (decide, decide, w(decide), 0.0),
        (writes, write, w(write), s(write)),
        (
            "the rest of the view: checks, answer",
            "view",
            w("view") - sum(w(label) for label in inner),
            s("view"),
        ),
        ("Django + test client (the rest)", "framework", sum(totals) - w("view"), s("framework")),
    ]
    total = sum(totals)
    printed = []
    for label, key, wall_s, sql_s in rows:
        queries = acc.get(key, {}).get("n", 0) / n if key != throttle else 0
        if key == check:  # sent straight through psycopg, past the execute wrappers
            queries = acc.get(check, {}).get("calls", 0) / n
        printed.append(
            (
                label,
                f"{wall_s / n * 1000:.3f}",
                f"{sql_s / n * 1000:.3f}",
                f"{queries:.1f}",
                f"{wall_s / total * 100:.0f}%",
            )
        )
    printed.append(
        (
            "total per decision",
            f"{total / n * 1000:.3f}",
            f"{(sum(v['sql'] for v in acc.values()) + w(check)) / n * 1000:.3f}",
            f"{(sum(v['n'] for v in acc.values()) + acc.get(check, {}).get('calls', 0)) / n:.1f}",
            "100%",
        )
    )
    print(f"\n  {mix} decisions: mean per decision; one process, one at a time")
    table(printed, ("phase", "wall ms", "of which SQL ms", "statements (no BEGIN/COMMIT)", "share"))
    print(
        f"  p50 {percentile(totals, 50) * 1000:.2f} ms, p99 {percentile(totals, 99) * 1000:.2f} ms"
        f"; {n / wall:.0f} decisions/s in one process = the most one core can do"
    )
    return {
        "mean_ms": total / n * 1000,
        "sql_ms": sum(v["sql"] for v in acc.values()) / n * 1000,
        "rate_one_core": n / wall,
        "rows": printed,
    }


def prepared_statements() -> list[tuple]:
    """This process's prepared statements (the gate's, liverooms/prepared.py) and how often
    PostgreSQL ran each with its generic plan rather than planning it again."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT left(regexp_replace(statement, '\\s+', ' ', 'g'), 60), generic_plans, "
            "custom_plans FROM pg_prepared_statements ORDER BY prepare_time"
        )
        return cursor.fetchall()


# --- 4. the throttle's cost ---------------------------------------------------------------------


def throttle_cost(redis_url: str) -> dict:
    """Counting one request: the throttle's counter (one script, one round trip, on a connection
    of its own) against the same count through Django's cache API (SET NX, then EXISTS and
    INCRBY, each on a connection taken from the pool)."""
    from django.core.cache.backends.redis import RedisCache

    from config.api.throttling import ApiKeyRateThrottle

    heading("4. The throttle's cost per request (in-process, Redis)")
    cache = RedisCache(redis_url, {"KEY_PREFIX": "lccgate-throttle-probe"})
    throttle = ApiKeyRateThrottle()
    throttle.cache = cache

    def cache_api():
        cache.add("probe-api", 0, 61)
        return cache.incr("probe-api")

    out, rows = {}, []
    for label, count in (
        ("the throttle's counter: one script (INCR, EXPIRE when new)", lambda: throttle.count("p")),
        ("Django's cache API: add + incr", cache_api),
    ):
        count()
        samples = []
        for _ in range(2000):
            t0 = time.perf_counter()
            count()
            samples.append(time.perf_counter() - t0)
        out[label] = statistics.median(samples) * 1000
        rows.append((label, f"{out[label]:.3f}", f"{percentile(samples, 99) * 1000:.3f}"))
    cache.delete_many(["probe-api", f"{throttle.cache_format}"])
    table(rows, ("counting one request", "median ms", "p99 ms"))
    return out


# --- 4b. instructions per request (callgrind) --------------------------------------------------


def _callgrind_total(path: Path) -> int:
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise ValueError(f"no instruction total in {path}")


def instructions(pop: Population, args, database_url: str, redis_url: str) -> dict | None:
    """Instructions per request of the Python that serves it, counted by callgrind: Django's
    handler under the production settings, called in-process by bench/wsgi_driver.py (not
    gunicorn's own parsing, not the kernel, not PostgreSQL or Redis). Unlike the rates under load,
    the count does not move with the machine's speed: two runs of the same code gave counts
    0.001 to 0.07 % apart (2026-12-01), so it shows what a change to the gate costs or saves on
    a machine too slow or too noisy to show it in decisions a second.

    Each kind of request runs in two processes: one sends `warm` requests, the other `warm` +
    `measured`; the difference over `measured` is one request's count, start-up and first
    requests cancelled out."""
    heading("4b. Instructions per request (callgrind, in-process, production settings)")
    if not args.valgrind:
        print("  skipped: valgrind is not installed (apt-get install valgrind, or --valgrind).")
        return None
    warm, measured = args.instruction_warmup, args.instruction_requests
    env = server_env(database_url, redis_url)
    env["PYTHONHASHSEED"] = "0"  # the same dict layouts in both processes of a pair
    key, raw = make_key("instructions")
    refused = refused_bodies(pop, 2 * warm + measured)
    allowed = allowed_bodies(pop)
    if len(allowed) < 2 * warm + measured:
        sys.exit(f"{len(allowed):,} free rooms; counting allowed decisions needs more.")
    kinds = [
        ("bare Django view", "bare_wsgi", "/api/v1/bare/", 200, refused[:warm], refused),
        ("DRF + key auth + throttle, no gate", "bare_wsgi", "/api/v1/drf/", 200, refused, refused),
        ("gate: refused (403, 1 write)", "config.wsgi", PATH, 403, refused, refused),
        # Each allowed decision opens a session in a room of its own: the two processes of the
        # pair take different rooms.
        ("gate: allowed (201, 1 write)", "config.wsgi", PATH, 201, allowed, allowed[warm:]),
    ]
    workdir = Path(tempfile.mkdtemp(prefix="lcc-callgrind-"))
    jobs = []
    for n, (label, module, path, code, short, long) in enumerate(kinds):
        for count, bodies in ((warm, short), (warm + measured, long)):
            spec = workdir / f"{n}-{count}.json"
            spec.write_text(
                json.dumps(
                    {
                        "module": module,
                        "path": path,
                        "authorization": f"Bearer {raw}",
                        "status": code,
                        "count": count,
                        "bodies": bodies[:count],
                    }
                ),
                encoding="utf-8",
            )
            out = workdir / f"{n}-{count}.callgrind"
            command = [
                args.valgrind,
                "--tool=callgrind",
                "--quiet",
                f"--callgrind-out-file={out}",
                sys.executable,
                str(BENCH / "wsgi_driver.py"),
                str(spec),
            ]
            jobs.append((label, count, out, command))
    started = time.perf_counter()
    totals: dict[tuple[str, int], int] = {}
    # Two at a time, one per core: the counts do not depend on what else runs.
    running: list[tuple[str, int, Path, subprocess.Popen]] = []
    pending = list(jobs)
    while pending or running:
        while pending and len(running) < 2:
            label, count, out, command = pending.pop(0)
            log = (workdir / f"{out.stem}.log").open("w")
            process = subprocess.Popen(  # noqa: S603 - our own command line
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
            running.append((label, count, out, process))
        label, count, out, process = running.pop(0)
        if process.wait() != 0:
            log = (workdir / f"{out.stem}.log").read_text(encoding="utf-8", errors="replace")
            sys.exit(f"callgrind of {label!r} ({count} requests) failed:\n{log[-2000:]}")
        totals[(label, count)] = _callgrind_total(out)
    ended = end_sessions()
    from accounts.actors import Actor
    from accounts.services import api_key_revoke

    api_key_revoke(key=key, actor=Actor.system("bench-gate"))
    per_request = {
        label: (totals[(label, warm + measured)] - totals[(label, warm)]) / measured
        for label, *_ in kinds
    }
    bare = per_request["bare Django view"]
    rows = [(label, f"{count:,.0f}", f"{count / bare:.2f}") for label, count in per_request.items()]
    table(rows, ("request", "instructions per request", "x bare view"))
    print(
        f"  {measured} requests after {warm} in each process, less the {warm} of a second "
        f"process; {len(jobs)} processes under callgrind in {time.perf_counter() - started:.0f} "
        f"s; {ended:,} sessions ended afterwards. Python only: PostgreSQL's, Redis's and the "
        "kernel's work are not counted."
    )
    shutil.rmtree(workdir, ignore_errors=True)
    return per_request


# --- 5. load: gunicorn and wrk ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(database_url: str, redis_url: str) -> dict:
    from django.conf import settings

    from config.settings import base

    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=os.environ.get("BENCH_SECRET_KEY", "bench-gate-secret-" + "k" * 48),
        # The data was created under these (base.py's local defaults unless set): the same keys.
        IDENTITY_HASH_KEY=settings.IDENTITY_HASH_KEY,
        IDENTITY_ENCRYPTION_KEYS=os.environ.get("IDENTITY_ENCRYPTION_KEYS", base._LOCAL_KEYRING),
        IDENTITY_ENCRYPTION_PRIMARY=settings.IDENTITY_ENCRYPTION_PRIMARY,
        ALLOWED_HOSTS="127.0.0.1",
        SITE_URL="https://127.0.0.1",
        # Credit sharing's keys: production refuses to start without them; the bench's own.
        CREDIT_CONSORTIUM_KEY=os.environ.get(
            "BENCH_CONSORTIUM_KEY", "bench-consortium-" + "c" * 32
        ),
        CREDIT_FEED_SIGNING_KEY=os.environ.get("BENCH_FEED_SIGNING_KEY", "B" * 43 + "="),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECURE_SSL_REDIRECT="false",
        BEHIND_TLS_PROXY="false",
        DB_CONN_MAX_AGE="600",
        LOG_LEVEL="WARNING",
        PYTHONDONTWRITEBYTECODE="1",
        # A run's warm-up and measured run share a key, and the REST framework baseline answers
        # more than the default 60,000 a minute per key (2,365 answers of 429 in the run of
        # 2026-11-30 21:41). The throttle still counts every request, in leases of the same size
        # (50: config/api/throttling.py), so its cost is measured, not skipped.
        API_RATE_PER_KEY="600000/minute",
    )
    return env


class Server:
    def __init__(self, name: str, app: str, args, env: dict, logdir: Path, extra=()):
        self.name = name
        self.port = free_port()
        self.log = logdir / f"{name}.log"
        command = [
            str(VENV_BIN / "gunicorn"),
            app,
            "--chdir",
            str(ROOT),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            args.worker_class,
            "--backlog",
            "2048",
            "--error-logfile",
            str(self.log),
            *(["--threads", str(args.threads)] if args.worker_class == "gthread" else []),
            *extra,
        ]
        self.command = command
        self.process = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, path: str, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: see {self.log}\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2):  # noqa: S310 - loopback
                    return
            except urllib.error.HTTPError:
                return  # it answers
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer on {self.url}")

    def pids(self) -> list[int]:
        return [self.process.pid, *children(self.process.pid)]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                for pid in children(self.process.pid):
                    os.kill(pid, signal.SIGKILL)
                self.process.kill()
                self.process.wait()


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry))
    return out


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, which: str = "both") -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    user, system = int(fields[11]) / TICK, int(fields[12]) / TICK  # utime, stime
    return {"user": user, "system": system}.get(which, user + system)


def processes_named(name: str) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() == name:
                    out.append(int(entry))
            except OSError:
                pass
    return out


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / TICK, total / TICK


class CpuMeter:
    """CPU seconds used during a run by the server's processes, PostgreSQL, Redis, wrk (reaped
    children of this process) and the machine as a whole."""

    def __init__(self, server: Server):
        self.server = server

    def snapshot(self) -> dict:
        # PostgreSQL's processes come and go (autovacuum workers): each is counted by its id, so
        # that one that exits during the run takes only its own time out of the sum, not the
        # whole group's difference below zero.
        return {
            "server": sum(cpu_seconds(p) for p in self.server.pids()),
            "server_sys": sum(cpu_seconds(p, "system") for p in self.server.pids()),
            "postgres": {p: cpu_seconds(p) for p in processes_named("postgres")},
            "redis": sum(cpu_seconds(p) for p in processes_named("redis-server")),
            "wrk": resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
            + resource.getrusage(resource.RUSAGE_CHILDREN).ru_stime,
            "machine": machine_busy()[0],
            "wall": time.perf_counter(),
        }

    @staticmethod
    def diff(a: dict, b: dict) -> dict:
        wall = b["wall"] - a["wall"]
        a, b = dict(a), dict(b)
        before = a.pop("postgres")
        b["postgres"] = sum(max(0.0, s - before.get(p, 0.0)) for p, s in b["postgres"].items())
        a["postgres"] = 0.0
        used = {k: max(0.0, b[k] - a[k]) / wall for k in a if k != "wall"}
        used["other"] = max(
            0.0, used["machine"] - used["server"] - used["postgres"] - used["redis"] - used["wrk"]
        )
        return used


def drain(server: Server, limit: float = 15) -> None:
    """Waits until the server has finished the requests still in flight when wrk stopped (a
    sync worker completes a request whose client has gone): until its processes use no CPU."""
    deadline = time.time() + limit
    while time.time() < deadline:
        before = sum(cpu_seconds(p) for p in server.pids())
        time.sleep(0.3)
        if sum(cpu_seconds(p) for p in server.pids()) - before < 0.02:
            return


# What every generated script shares after its own requests: each wrk thread numbered (the
# script declares `local threads = {}`), the answers counted by status, and wrk's summary
# printed as one JSON line (bench/load.py's scripts end with it too).
LUA_REPORT = r"""
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  wrapped = 0
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts, wraps = {}, 0
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do counts[k] = (counts[k] or 0) + v end
    wraps = wraps + t:get("wrapped")
  end
  local parts = {}
  for k, v in pairs(counts) do parts[#parts + 1] = string.format('"%d": %d', k, v) end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "wrapped": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "p999": %d, "max": %d, "mean": %.1f}, ' ..
    '"statuses": {%s}}\n',
    summary.requests, summary.duration, wraps,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean,
    table.concat(parts, ", ")))
end
"""

LUA = (
    r"""
-- Generated by bench/gate.py: POSTs one JSON body per request, taking them in turn; thread t
-- of T takes bodies t+1, t+1+T, ... so no two requests share a body until the list wraps.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "@AUTH@"
local THREADS = @THREADS@
local bodies = {
@BODIES@
}
local threads = {}
local counter = 0
local requests_ = {}


function request()
  local i = tid + counter * THREADS
  counter = counter + 1
  if i >= #bodies then
    wrapped = wrapped + 1
    i = i % #bodies
  end
  local r = requests_[i]
  if r == nil then
    r = wrk.format(nil, nil, nil, bodies[i + 1])
    requests_[i] = r
  end
  return r
end

"""
    + LUA_REPORT
)


def lua_script(path: Path, auth: str, bodies: list[dict], threads: int, pause_ms: int = 0) -> Path:
    lines = ",\n".join("  '" + json.dumps(b, separators=(",", ":")) + "'" for b in bodies)
    text = LUA.replace("@AUTH@", auth).replace("@THREADS@", str(threads))
    if pause_ms:
        # wrk waits this long on a connection before each of its requests after the first.
        text += f"\nfunction delay()\n  return {pause_ms}\nend\n"
    path.write_text(text.replace("@BODIES@", lines))
    return path


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(text: str) -> dict:
    """Requests/sec, the --latency distribution (in ms) and the generated JSON line."""
    out: dict = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["rps"] = float(m.group(1)) if m else 0.0
    for pct, value, unit in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M):
        out[f"p{pct}"] = float(value) * UNITS[unit]
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    out["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"^WRK_JSON (.*)$", text, re.M)
    out["json"] = json.loads(m.group(1)) if m else {}
    return out


def run_wrk(
    url: str, script: Path, args, duration: float, *, connections: int, threads: int
) -> tuple[dict, str]:
    command = [
        args.wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{round(duration)}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr}\n{done.stdout}")
    return parse_wrk(done.stdout), done.stdout


def wait_quiet(limit: float, threshold: float = 0.3) -> float:
    """Waits (at most `limit` s) until the machine, between runs, is busy on fewer than
    `threshold` cores: another process's work would be measured as ours. Returns the last
    sample."""
    started = time.time()
    while True:
        b0 = machine_busy()[0]
        time.sleep(2)
        busy = (machine_busy()[0] - b0) / 2
        if busy <= threshold or time.time() - started > limit:
            if time.time() - started > 3:
                print(f"      (waited {time.time() - started:.0f} s for a quiet machine)")
            return busy


@dataclass
class Run:
    name: str
    server: Server
    path: str
    bodies: list[dict]
    auth: str
    expected: int
    connections: int
    threads: int
    key_pk: int | None = None
    sessions: bool = False  # allowed decisions: sessions are ended after warm-up and run
    pause_ms: int = 0  # paced runs: each connection waits this long between its requests
    before: object = None  # called just before the measured run
    result: dict = field(default_factory=dict)


def measure(run: Run, args, workdir: Path, redis_url: str) -> dict:
    script = lua_script(workdir / "run.lua", run.auth, run.bodies, run.threads, run.pause_ms)
    url = run.server.url + run.path
    if args.warmup:
        run_wrk(url, script, args, args.warmup, connections=run.connections, threads=run.threads)
        drain(run.server)
        if run.sessions:
            end_sessions()
    if run.before:
        run.before()
    idle = wait_quiet(args.quiet_wait)
    meter = CpuMeter(run.server)
    load0 = os.getloadavg()[0]
    t0 = meter.snapshot()
    result, text = run_wrk(
        url, script, args, args.duration, connections=run.connections, threads=run.threads
    )
    t1 = meter.snapshot()
    drain(run.server)
    result["cpu"] = CpuMeter.diff(t0, t1)
    result["idle_before"] = idle
    result["load"] = (load0, os.getloadavg()[0])
    result["text"] = text
    statuses = result["json"].get("statuses", {})
    result["expected"] = int(statuses.get(str(run.expected), 0))
    result["unexpected"] = {k: v for k, v in statuses.items() if k != str(run.expected)}
    duration = result["json"].get("duration_us", 0) / 1e6 or args.duration
    result["decisions"] = result["expected"] / duration
    if run.sessions:
        end_sessions()
    run.result = result
    return result


PACED_REFUSED = "gate: refused, paced to the target rate"
PACED_ALLOWED = "gate: allowed, paced to the target rate"
# The least a recorded decision costs on this stack (bench/bare_wsgi.py, /api/v1/floor/).
FLOOR = "floor: bare view + a read and a durable write"
FLOOR_PACED = "floor, paced to the target rate"


def paced(args) -> tuple[int, int]:
    """Connections and the pause each takes between its requests, so that together they ask
    a quarter more than the target rate while answers take no time: at 48 connections, 38 ms.
    A connection asks again only once answered, so slow answers ask less: the rate served is
    what the run reports, and the latency is measured at that rate, not at saturation."""
    pause = round(1000 * args.paced_connections / (1.25 * TARGET_RPS))
    return args.paced_connections, pause


def bench_load(pop: Population, args, database_url: str, redis_url: str) -> list[Run]:
    heading(
        f"5. Under load: gunicorn ({args.workers} x {args.worker_class}"
        f"{f', {args.threads} threads' if args.worker_class == 'gthread' else ''}) and wrk "
        f"(-t{args.wrk_threads} -c{args.connections}, {args.warmup:g} s warm-up, "
        f"{args.duration:g} s measured)"
    )
    from django.db import connection

    env = server_env(database_url, redis_url)
    workdir = Path(tempfile.mkdtemp(prefix="lcc-gate-"))
    labels = (
        *("drf", "refused", "allowed", "refused-c1", "allowed-c1"),
        *("refused-paced", "allowed-paced", "profile"),
    )
    keys = {label: make_key(label) for label in labels}
    refused = refused_bodies(pop)
    allowed = allowed_bodies(pop)
    floor_table()
    product = Server("product", "config.wsgi:application", args, env, workdir)
    bare = Server(
        "baseline", "bare_wsgi:application", args, env, workdir, ["--pythonpath", str(BENCH)]
    )
    runs: list[Run] = []
    runs_profiled: dict = {}
    try:
        product.wait_ready("/healthz")
        bare.wait_ready("/api/v1/bare/")
        print(f"  product:  gunicorn {' '.join(product.command[1:])}")
        print(f"  baseline: gunicorn {' '.join(bare.command[1:])}")
        print(
            "  environment: DJANGO_SETTINGS_MODULE=config.settings.production, "
            f"DATABASE_URL={database_url}, REDIS_URL={redis_url}, DB_CONN_MAX_AGE=600, "
            "SECURE_SSL_REDIRECT=false, BEHIND_TLS_PROXY=false, ALLOWED_HOSTS=127.0.0.1, SITE_URL, "
            "LOG_LEVEL=WARNING, API_RATE_PER_KEY=600000/minute, SECRET_KEY, IDENTITY_* keys"
        )
        print(
            f"  bodies: {len(refused):,} refused ones, taken in turn; {len(allowed):,} allowed "
            "ones, one per free room, never reused within a run (sessions are ended in bulk\n"
            "  by SQL after each warm-up and each run); every run uses a new API key, so its "
            "throttle counter starts empty"
        )

        def auth(label):
            return f"Bearer {keys[label][1]}"

        c, t = args.connections, args.wrk_threads
        paced_c, pause = paced(args)
        runs = [
            Run("bare Django view", bare, "/api/v1/bare/", refused, auth("drf"), 200, c, t),
            Run("bare view + one SQL query", bare, "/api/v1/sql/", refused, auth("drf"), 200, c, t),
            Run(FLOOR, bare, "/api/v1/floor/", refused, auth("drf"), 200, c, t),
            Run(
                "DRF + key auth + throttle, no gate",
                bare,
                "/api/v1/drf/",
                refused,
                auth("drf"),
                200,
                c,
                t,
                key_pk=keys["drf"][0].pk,
            ),
            Run(
                "gate: refused (403, 1 write)",
                product,
                PATH,
                refused,
                auth("refused"),
                403,
                c,
                t,
                key_pk=keys["refused"][0].pk,
            ),
            Run(
                "gate: allowed (201, 1 write)",
                product,
                PATH,
                allowed,
                auth("allowed"),
                201,
                c,
                t,
                key_pk=keys["allowed"][0].pk,
                sessions=True,
            ),
            Run(
                "gate: refused, 1 connection (no queueing)",
                product,
                PATH,
                refused,
                auth("refused-c1"),
                403,
                1,
                1,
                key_pk=keys["refused-c1"][0].pk,
            ),
            Run(
                "gate: allowed, 1 connection (no queueing)",
                product,
                PATH,
                allowed,
                auth("allowed-c1"),
                201,
                1,
                1,
                key_pk=keys["allowed-c1"][0].pk,
                sessions=True,
            ),
            Run(
                FLOOR_PACED,
                bare,
                "/api/v1/floor/",
                refused,
                auth("drf"),
                200,
                paced_c,
                t,
                pause_ms=pause,
            ),
            Run(
                PACED_REFUSED,
                product,
                PATH,
                refused,
                auth("refused-paced"),
                403,
                paced_c,
                t,
                key_pk=keys["refused-paced"][0].pk,
                pause_ms=pause,
            ),
            Run(
                PACED_ALLOWED,
                product,
                PATH,
                allowed,
                auth("allowed-paced"),
                201,
                paced_c,
                t,
                key_pk=keys["allowed-paced"][0].pk,
                sessions=True,
                pause_ms=pause,
            ),
        ]
        end_sessions()
        for run in runs:
            result = measure(run, args, workdir, redis_url)
            print(
                f"  ... {run.name} (-c{run.connections}): {result['rps']:,.0f} req/s, "
                f"p99 {result.get('p99', float('nan')):.1f} ms"
            )
        if args.py_spy:
            bare.stop()
            runs_profiled = profile(product, args, workdir, refused, allowed, keys)
        for server in (product, bare):
            log = server.log.read_text() if server.log.exists() else ""
            errors = [line for line in log.splitlines() if "ERROR" in line or "Traceback" in line]
            if errors:
                print(f"  {server.name} error log ({server.log}):")
                for line in errors[:10]:
                    print(f"    {line}")
    finally:
        product.stop()
        bare.stop()
        end_sessions()
        floor_table()
        from accounts.actors import Actor
        from accounts.services import api_key_revoke

        for key, _raw in keys.values():
            api_key_revoke(key=key, actor=Actor.system("bench-gate"))
        connection.close()
        shutil.rmtree(workdir, ignore_errors=True)
    report_load(runs)
    if args.py_spy:
        report_profile(runs_profiled)
    return runs


def report_load(runs: list[Run]) -> None:
    bare = runs[0].result
    rows = []
    for run in runs:
        r = run.result
        j = r["json"]
        rows.append(
            (
                run.name,
                run.connections,
                f"{r['rps']:,.0f}",
                f"{r['rps'] / bare['rps'] * 100:.1f}%" if bare["rps"] else "",
                f"{r.get('p50', 0):.2f}",
                f"{r.get('p90', 0):.2f}",
                f"{r.get('p99', 0):.2f}",
                f"{j.get('latency_us', {}).get('max', 0) / 1000:.0f}",
                f"{r['expected']:,} x {run.expected}",
                ", ".join(f"{v:,} x {k}" for k, v in r["unexpected"].items()) or "none",
            )
        )
    print()
    table(
        rows,
        (
            "run",
            "conns",
            "req/s",
            "of bare",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "answers as expected",
            "other answers",
        ),
    )
    print(
        "\n  CPU during each measured run: cores busy (of 2), and CPU ms per request "
        "(gunicorn + PostgreSQL + Redis)"
    )
    crow = []
    for run in runs:
        c, rps = run.result["cpu"], max(run.result["rps"], 1e-9)
        crow.append(
            (
                run.name,
                f"{c['server']:.2f}",
                f"{c['server_sys'] / max(c['server'], 1e-9) * 100:.0f}%",
                f"{c['postgres']:.2f}",
                f"{c['redis']:.2f}",
                f"{c['wrk']:.2f}",
                f"{c['other']:.2f}",
                f"{c['machine']:.2f}",
                f"{c['server'] * 1000 / rps:.2f}",
                f"{c['postgres'] * 1000 / rps:.2f}",
                f"{c['redis'] * 1000 / rps:.2f}",
            )
        )
    table(
        crow,
        (
            "run",
            "gunicorn",
            "of it kernel",
            "postgres",
            "redis",
            "wrk",
            "other",
            "machine",
            "ms/req gunicorn",
            "ms/req pg",
            "ms/req redis",
        ),
    )
    for run in runs:
        errors = run.result["json"].get("errors", {})
        bad = {k: v for k, v in errors.items() if v and k != "status"}
        wrapped = run.result["json"].get("wrapped") if run.sessions else 0
        if bad or wrapped:
            print(
                f"  {run.name}: socket errors {bad or 'none'}; allowed bodies reused "
                f"(their rooms were on air already): {wrapped}"
            )
    print("\n  wrk's own report of each measured run:")
    for run in runs:
        print(f"  --- {run.name}")
        for line in run.result["text"].splitlines():
            if line.startswith("WRK_JSON") or not line.strip():
                continue
            print(f"    {line}")


# --- 5b. where a worker's time goes under load (py-spy, optional) -----------------------------

# The phase of a decision a sample belongs to: the first rule (most specific first) that matches
# any frame of its stack, as (label, function name suffix, file name suffix); "" matches any.
PHASE_RULES = [
    ("throttle (Redis)", "", "config/api/throttling.py"),
    ("auth: API key look-up", "authenticate", "accounts/api/authentication.py"),
    ("gate: the read", "load_context", "liverooms/gate.py"),
    ("gate: decide", "decide", "liverooms/gate.py"),
    ("gate: the write", "_insert", "liverooms/services.py"),
    ("gate: the write", "_insert_session", "liverooms/services.py"),
    ("body: parse, field types", "_body", "liverooms/api/golive.py"),
    ("answer: the response body", "", "liverooms/api/golive.py"),
    ("REST framework view (fallback)", "", "liverooms/api/views.py"),
]
# What the innermost code was doing, by the file of the innermost frame (first prefix wins).
ACTIVITY_RULES = [
    ("django/db/models/sql/", "ORM: building and compiling SQL"),
    ("django/db/models/expressions.py", "ORM: building and compiling SQL"),
    ("django/db/models/lookups.py", "ORM: building and compiling SQL"),
    ("django/db/models/query_utils.py", "ORM: building and compiling SQL"),
    ("django/db/models/fields/related_lookups.py", "ORM: building and compiling SQL"),
    ("django/db/models/base.py", "ORM: model instances"),
    ("django/db/models/query.py", "ORM: querysets and rows"),
    ("django/db/", "ORM: fields, backend, other"),
    ("rest_framework/", "DRF"),
    ("django/", "Django: handler, middleware, other"),
    ("gunicorn/", "gunicorn"),
    ("copy.py", "copy (ORM clones querysets)"),
    ("json/", "json"),
    ("logging/", "logging"),
]


def _frames(stack: str) -> list[tuple[str, str]]:
    out = []
    for frame in stack.split(";"):
        m = re.match(r"(.*) \((.*):\d+\)$", frame)
        out.append((m.group(1), m.group(2)) if m else (frame, ""))
    return out


def classify(stack: str) -> tuple[str, str]:
    frames = _frames(stack)
    files = [f for _fn, f in frames]
    phase = next(
        (
            label
            for label, function, filename in PHASE_RULES
            if any(fn.endswith(function) and f.endswith(filename) for fn, f in frames)
        ),
        None,
    )
    if phase is None:
        for prefix, label in (
            ("rest_framework/", "DRF: dispatch, parse, render"),
            (("django/", "whitenoise/", "csp/", "axes/", "django_otp/"), "Django: middleware"),
            ("gunicorn/", "gunicorn"),
        ):
            if any(f.startswith(prefix) for f in files):
                phase = label
                break
        else:
            phase = "other"
    psycopg = [(fn, f) for fn, f in frames if f.startswith("psycopg/")]
    if psycopg:
        waiting = any(
            "send_query" in fn or "_execute_send" in fn or fn.endswith(".wait") or "waiting" in f
            for fn, f in psycopg
        )
        activity = (
            "PostgreSQL round trip (send, wait)" if waiting else "psycopg: rows, types, other"
        )
    elif any(f.startswith("redis/") for _fn, f in frames):
        activity = "Redis round trip and client"
    else:
        inner = frames[-1][1] if frames else ""
        activity = next((a for prefix, a in ACTIVITY_RULES if prefix in inner), "other")
    return phase, activity


def profile(product: Server, args, workdir: Path, refused, allowed, keys) -> dict:
    """Samples every worker with py-spy (non-blocking, 200 Hz) while wrk drives each mix; the
    sampling slows the server, so these runs are reported apart and count for nothing."""
    from collections import Counter

    out = {}
    seconds = max(10, round(args.duration))
    for mix, bodies in (("refused", refused), ("allowed", allowed)):
        script = lua_script(workdir / "profile.lua", f"Bearer {keys['profile'][1]}", bodies, 2)
        url = product.url + PATH
        end_sessions()
        wrk = subprocess.Popen(  # noqa: S603 - our own wrk, fixed arguments
            [args.wrk, "-t2", f"-c{args.connections}", f"-d{seconds + 4}s", "-s", str(script), url],
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(2)
        spies = []
        for pid in children(product.process.pid):
            target = workdir / f"spy-{mix}-{pid}.txt"
            command = [args.py_spy, "record", "--pid", str(pid), "--duration", str(seconds)]
            command += ["--rate", "200", "--format", "raw", "--nonblocking", "-o", str(target)]
            spies.append(
                (
                    target,
                    subprocess.Popen(  # noqa: S603 - py-spy on our own workers
                        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
                    ),
                )
            )
        for _target, spy in spies:
            _out, err = spy.communicate()
            if spy.returncode:
                print(f"  py-spy failed: {err.strip()[-300:]}")
        text = wrk.communicate()[0]
        drain(product)
        end_sessions()
        samples: Counter = Counter()
        for target, _spy in spies:
            if target.exists():
                for line in target.read_text().splitlines():
                    stack, _sep, count = line.rpartition(" ")
                    samples[classify(stack)] += int(count)
        parsed = parse_wrk(text)
        out[mix] = {"samples": samples, "rps": parsed["rps"]}
    return out


def report_profile(profiled: dict) -> None:
    from collections import Counter

    heading("5b. Where a worker's time goes under load (py-spy samples of every worker)")
    print(
        "  Separate runs with py-spy sampling each gunicorn worker (non-blocking, 200 Hz); the "
        "sampling slows the server,\n  so their rates count for nothing. A sample is a worker "
        "running or ready to run: with 3 workers and PostgreSQL\n  on 2 cores, a worker that "
        "sent a query is often descheduled while the backend runs, which shows as round trip."
    )
    for mix, data in profiled.items():
        samples: Counter = data["samples"]
        total = sum(samples.values()) or 1
        phases: Counter = Counter()
        activities: Counter = Counter()
        for (phase, activity), n in samples.items():
            phases[phase] += n
            activities[activity] += n
        print(f"\n  {mix} decisions ({total:,} samples, {data['rps']:,.0f} req/s while sampled)")
        rows = []
        phase_rows = phases.most_common()
        activity_rows = activities.most_common()
        for i in range(max(len(phase_rows), len(activity_rows))):
            p = phase_rows[i] if i < len(phase_rows) else ("", 0)
            a = activity_rows[i] if i < len(activity_rows) else ("", 0)
            rows.append(
                (
                    p[0],
                    f"{p[1] / total * 100:.1f}%" if p[0] else "",
                    a[0],
                    f"{a[1] / total * 100:.1f}%" if a[0] else "",
                )
            )
        table(rows, ("phase of the decision", "share", "what the innermost code did", "share"))
        top = samples.most_common(6)
        print(
            "    largest phase x activity cells: "
            + "; ".join(f"{p} / {a} {n / total * 100:.1f}%" for (p, a), n in top)
        )


# --- summary ----------------------------------------------------------------------------------


def summary(
    counts: dict, runs: list[Run], prof: dict, parties: int, args, counted: dict | None
) -> int:
    heading("6. Summary")
    fails = 0
    rows = []

    def add(target, figure, ok):
        nonlocal fails
        fails += ok is False
        rows.append((target, figure, "INFO" if ok is None else "PASS" if ok else "FAIL"))

    by = {run.name: run for run in runs}
    bare = runs[0].result
    add(
        f"bare Django view, same gunicorn (-c{args.connections})",
        f"{bare['rps']:,.0f}/s, p99 {bare.get('p99', 0):.1f} ms",
        None,
    )
    one = by["bare view + one SQL query"].result
    add(
        "bare view + one SQL query (no target)",
        f"{one['rps']:,.0f}/s = {one['rps'] / bare['rps'] * 100:.0f}% of the bare view, "
        f"p99 {one.get('p99', 0):.1f} ms",
        None,
    )
    floor = by[FLOOR].result
    add(
        f"{FLOOR} (no target)",
        f"{floor['rps']:,.0f}/s = {floor['rps'] / bare['rps'] * 100:.0f}% of the bare view, "
        f"p99 {floor.get('p99', 0):.1f} ms",
        None,
    )
    floor_paced = by[FLOOR_PACED].result
    # Held to the gate's paced target for information: a floor that misses it says that no gate
    # on this stack can meet it on this machine.
    floor_meets = floor_paced["rps"] >= TARGET_RPS and floor_paced.get("p99", 1e9) <= TARGET_P99_MS
    add(
        f"{FLOOR_PACED} (no target)",
        f"{floor_paced['rps']:,.0f}/s served; p50 {floor_paced.get('p50', 0):.1f}, p90 "
        f"{floor_paced.get('p90', 0):.1f}, p99 {floor_paced.get('p99', 0):.1f} ms: "
        + ("within" if floor_meets else "outside")
        + " the gate's paced target",
        None,
    )
    for name in (
        "gate: refused (403, 1 write)",
        "gate: allowed (201, 1 write)",
    ):
        r = by[name].result
        clean = not r["unexpected"] and not any(
            v for k, v in r["json"].get("errors", {}).items() if k != "status"
        )
        decisions = r["decisions"]
        add(
            f"{name}: >= {TARGET_RPS:,.0f} decisions/s",
            f"{decisions:,.0f}/s = {decisions / bare['rps'] * 100:.1f}% of the bare view, "
            f"{decisions / floor['rps'] * 100:.0f}% of the floor"
            + ("" if clean else "; other answers or errors (see above)"),
            decisions >= TARGET_RPS and clean,
        )
        add(
            f"{name}: latency at saturation (-c{args.connections}, no target)",
            f"p50 {r.get('p50', 0):.1f}, p90 {r.get('p90', 0):.1f}, p99 {r.get('p99', 0):.1f} ms",
            None,
        )
    paced_c, pause = paced(args)
    for name in (PACED_REFUSED, PACED_ALLOWED):
        r = by[name].result
        clean = not r["unexpected"] and not any(
            v for k, v in r["json"].get("errors", {}).items() if k != "status"
        )
        add(
            f"{name}: p99 <= {TARGET_P99_MS:.0f} ms while serving >= {TARGET_RPS:,.0f}/s "
            f"(-c{paced_c}, {pause} ms pauses)",
            f"{r['decisions']:,.0f}/s served; p50 {r.get('p50', 0):.1f}, p90 "
            f"{r.get('p90', 0):.1f}, p99 {r.get('p99', 0):.1f} ms"
            + ("" if clean else "; other answers or errors (see above)"),
            r["decisions"] >= TARGET_RPS and r.get("p99", 1e9) <= TARGET_P99_MS and clean,
        )
    for name in (
        "gate: refused, 1 connection (no queueing)",
        "gate: allowed, 1 connection (no queueing)",
    ):
        r = by[name].result
        add(
            f"{name}: p99 <= {TARGET_P99_MS:.0f} ms",
            f"p50 {r.get('p50', 0):.1f}, p99 {r.get('p99', 0):.1f} ms at {r['rps']:,.0f}/s",
            r.get("p99", 1e9) <= TARGET_P99_MS,
        )
    a, r_ = counts["allowed"], counts["refused"]
    add(
        "constant queries per decision (1 anchor/1 product vs 4/10)",
        f"allowed {a[0]} vs {a[1]}, refused {r_[0]} vs {r_[1]} "
        f"(+{counts['health_checks']} health check each)",
        a[0] == a[1] and r_[0] == r_[1] and counts["statuses_ok"],
    )
    add(
        f"the gate's queries: no Seq Scan on a table over {SMALL_TABLE:,} rows",
        ", ".join(counts["scans"]) or "none",
        not counts["scans"],
    )
    main = by["gate: allowed (201, 1 write)"].result
    cpu = main["cpu"]
    per = (cpu["server"] + cpu["postgres"] + cpu["redis"]) / max(main["rps"], 1e-9)
    add(
        "CPU per allowed decision under gunicorn (no target)",
        f"{cpu['server'] / max(main['rps'], 1e-9) * 1000:.1f} ms gunicorn "
        f"({cpu['server_sys'] / max(cpu['server'], 1e-9) * 100:.0f}% kernel) + "
        f"{cpu['postgres'] / max(main['rps'], 1e-9) * 1000:.1f} ms PostgreSQL: "
        f"{TARGET_RPS:,.0f}/s would need ~{per * TARGET_RPS:.0f} such cores",
        None,
    )
    drf = by["DRF + key auth + throttle, no gate"].result
    add(
        "DRF + key auth + throttle alone (no target)",
        f"{drf['rps']:,.0f}/s, p99 {drf.get('p99', 0):.1f} ms",
        None,
    )
    add(
        "in-process, one decision at a time (no target)",
        f"allowed {prof['allowed']['mean_ms']:.1f} ms, refused {prof['refused']['mean_ms']:.1f} ms",
        None,
    )
    if counted:
        bare_count = counted["bare Django view"]
        add(
            "instructions per decision in-process, callgrind (no target)",
            ", ".join(
                f"{label.split(' (')[0].removeprefix('gate: ')} {counted[label]:,.0f} "
                f"({counted[label] / bare_count:.2f}x bare)"
                for label in ("gate: refused (403, 1 write)", "gate: allowed (201, 1 write)")
            ),
            None,
        )
    table(rows, ("target", "measured", "result"))
    busiest = max(reg.LOADS)
    others = max(run.result["cpu"]["other"] for run in runs)
    print(
        f"  {parties:,} parties in the registry. wrk, PostgreSQL and Redis share the 2 CPUs with "
        "gunicorn (see the CPU table).\n"
        f"  Highest 1-minute load at a heading: {busiest:.2f}; most CPU used by other processes "
        f"during a measured run: {others:.2f} cores"
        + (" -- the machine was not quiet; treat the figures with care." if others > 0.3 else ".")
    )
    return fails


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parties", type=int, default=1_000_000)
    parser.add_argument("--merchants", type=int, default=2_000)
    parser.add_argument("--anchors", type=int, default=2_000)
    parser.add_argument(
        "--rooms", type=int, default=40_000, help="live rooms in all, spread over the merchants"
    )
    # In-process a decision takes about 1.1 ms of CPU and waits about 1.1 ms on PostgreSQL, half
    # of it PostgreSQL's own CPU on the same two cores: cores x (1 + other wait / CPU) is about
    # 2 x 1.4, so 3 sync workers. Sweeps of sync 2-6 and of gthread workers (2026-11-29, and
    # 2026-12-02 with keep-alive) found no better choice (bench/README.md).
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=4, help="for --worker-class gthread")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--paced-connections",
        type=int,
        default=48,
        help="connections of the paced runs (latency at the target rate)",
    )
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--profile-decisions", type=int, default=300)
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=120,
        help="seconds to wait, before each measured run, for other processes to go quiet",
    )
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    parser.add_argument(
        "--valgrind",
        default=shutil.which("valgrind") or "",
        help="valgrind binary: count instructions per request with callgrind (default: on PATH; "
        "skipped if absent)",
    )
    parser.add_argument("--instruction-warmup", type=int, default=100)
    parser.add_argument("--instruction-requests", type=int, default=200)
    parser.add_argument(
        "--instructions-only",
        action="store_true",
        help="stop after the instruction counts: no load runs, no targets judged",
    )
    parser.add_argument(
        "--py-spy",
        default=shutil.which("py-spy")
        or (str(VENV_BIN / "py-spy") if (VENV_BIN / "py-spy").exists() else ""),
        help="py-spy binary: profile the workers under load in separate runs (default: on PATH "
        "or in the virtualenv; skipped if absent)",
    )
    args = parser.parse_args()

    database_url = os.environ["DATABASE_URL"]
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    print(f"Go-live gate benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    parts = urlsplit(database_url)
    print(
        f"  database {parts.hostname}:{parts.port or 5432}{parts.path}, Redis {redis_url}, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    if not shutil.which(args.wrk):
        sys.exit("wrk is not installed: apt-get install -y wrk (or `make bench-gate`).")
    version = subprocess.run([args.wrk, "-v"], capture_output=True, text=True, check=False)  # noqa: S603
    print(f"  {version.stdout.splitlines()[0] if version.stdout else args.wrk}")
    reg.ensure_database(database_url)
    reg.setup_django()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
    print(f"  PostgreSQL {version}, shared_buffers {buffers}")

    reg.generate(args.parties, reg.BATCH)
    pop = populate(args)
    needed = math.ceil(args.duration * TARGET_RPS * 2)
    if len(pop.rooms_ok) < needed:
        print(
            f"  NOTE: {len(pop.rooms_ok):,} free rooms for allowed decisions; a measured run "
            f"at twice the target rate for {args.duration:g} s needs {needed:,}."
        )
    key, raw = make_key("in-process")
    counts = query_counts(pop, raw)
    prof = phases(pop, raw, redis_url, args.profile_decisions)
    throttle_cost(redis_url)
    from accounts.actors import Actor
    from accounts.services import api_key_revoke

    api_key_revoke(key=key, actor=Actor.system("bench-gate"))
    counted = instructions(pop, args, database_url, redis_url)
    if args.instructions_only:
        return 0
    runs = bench_load(pop, args, database_url, redis_url)
    fails = summary(counts, runs, prof, args.parties, args, counted)
    print()
    print(f"{fails} target(s) failed." if fails else "All targets met.")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
