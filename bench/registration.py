"""Registration at registry scale: file submission, entry checks and the admin queue.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lcc_bench \
        .venv/bin/python bench/registration.py [--parties 1000000]

(or `make bench`). Creates the database if it is missing, migrates it, fills it with a synthetic
registry of --parties parties with set-based SQL (only the part not already there), then prints:

  a. file submission with three documents, through the real services;
  b. the entry checks against that registry: latency, queries per run, and each query's plan;
  c. baselines from the same run: a bare `SELECT 1`, one indexed look-up, and a deliberately
     unindexed query (what a scan costs at this size);
  d. the admin's registration queue at that size: render time and queries at 20 and 100 rows
     per page, and any counting query;

and a summary of the targets with PASS/FAIL. See bench/README.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lcc_bench")

# The targets.
CHECKS_P99_TARGET_MS = 20.0
BATCH = 200_000
SEED = 20_260_101

# Tables that grow with the registry: a sequential scan on any of them is a finding.
BIG_TABLES = {
    "accounts_party",
    "accounts_registrationfile",
    "accounts_restriction",
    "credit_sanctionentry",
}


# --- output ------------------------------------------------------------------------------------


LOADS: list[float] = []


def heading(title: str) -> None:
    """Print a section title with the 1-minute load average: on a shared machine, other work
    on the CPUs shows up in the figures, and the load says so."""
    load = os.getloadavg()[0]
    LOADS.append(load)
    print()
    print(f"{title}   [load {load:.2f} on {os.cpu_count()} CPUs]")
    print("-" * len(title))


def _numeric(cell: str) -> bool:
    try:
        float(cell.replace(",", "").replace("/", ""))
    except ValueError:
        return cell == ""
    return True


def table(rows: list[tuple], headers: tuple) -> None:
    """Numeric columns right-aligned, text columns left-aligned."""
    body = [tuple(str(c) for c in r) for r in rows]
    cells = [tuple(str(c) for c in headers), *body]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    right = [all(_numeric(r[i]) for r in body) for i in range(len(headers))]
    for n, r in enumerate(cells):
        print(
            "  "
            + "  ".join(
                (c.rjust(w) if right[i] else c.ljust(w)).rstrip()
                if i == len(r) - 1
                else (c.rjust(w) if right[i] else c.ljust(w))
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil
    return ordered[int(rank) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def short_sql(sql: str, limit: int = 220) -> str:
    sql = re.sub(r"\s+", " ", sql)
    return sql if len(sql) <= limit else sql[: limit - 3] + "..."


# --- 1. database and Django ------------------------------------------------------------------


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        sys.exit(f"DATABASE_URL must point at PostgreSQL, not {parts.scheme!r}.")
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"Created database {name}.")


def setup_django() -> None:
    import logging

    import django
    from django.core.management import call_command

    django.setup()
    # A page that fails is reported in the tables below; its traceback would bury them.
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    started = time.perf_counter()
    call_command("migrate", "--noinput", verbosity=0)
    print(f"Migrated in {time.perf_counter() - started:.1f} s.")


# --- 2. scale data ---------------------------------------------------------------------------
#
# Party g (1..N) is the synthetic identity "id-<g>"; its identity hash is sha256 of that in hex,
# which Python recomputes to pick candidates. The real hash is an HMAC with the registry's key;
# for the look-ups only the shape matters (64 hex characters, uniformly spread).
#
#   kind              g % 10:  0-5 merchant, 6-8 anchor, 9 agency
#   file status       (g / 10) % 100 -> STATUS_BUCKETS below
#   restrictions      g % 100 = 42 (1 %), kind by (g / 100) % 6 -> RESTRICTIONS below
#   sanctions         g % 20 = 7 (5 %), kind by (g / 20) % 4

STATUS_SQL = """
    CASE
        WHEN b < 10 THEN 'draft'
        WHEN b < 25 THEN 'submitted'
        WHEN b < 30 THEN 'in_review'
        WHEN b < 33 THEN 'changes_requested'
        WHEN b < 35 THEN 'resubmitted'
        WHEN b < 90 THEN 'approved'
        ELSE 'rejected'
    END
"""

GENERATE_SQL = """
WITH src AS (
    SELECT g,
           (g / 10) %% 100 AS b,
           CASE WHEN g %% 10 < 6 THEN 'merchant' WHEN g %% 10 < 9 THEN 'anchor' ELSE 'agency' END
               AS kind,
           -- created 10 days to 2 years ago, submitted within a day, decided within a week
           now() - interval '10 days' - make_interval(secs => (g * 7919) %% 63072000) AS created
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g
),
parties AS (
    INSERT INTO accounts_party (kind, name, identity_hash, platform_ref, created_at, updated_at,
                                approved_at, reverification_due_at)
    SELECT kind,
           'Bench party ' || g,
           encode(sha256(convert_to('id-' || g, 'UTF8')), 'hex'),
           'bench-' || g,
           created,
           created,
           CASE WHEN b BETWEEN 35 AND 89 THEN created + interval '3 days' END,
           CASE WHEN b BETWEEN 35 AND 89 THEN created + interval '3 days' + interval '6 months'
           END
    FROM src
    RETURNING id, kind, name, platform_ref, created_at
),
files AS (
    INSERT INTO accounts_registrationfile (
        party_id, kind, status, version, name, credit_code, id_number_encrypted,
        id_number_masked, contact_phone, contact_email, address, submitted_at, decided_at,
        change_review_due_estimated, last_check_results, created_at, updated_at)
    SELECT id, kind, @STATUS@, 1, name,
           CASE WHEN kind = 'anchor' THEN '' ELSE '91330106' || lpad(g::text, 10, '0') END,
           '',
           CASE WHEN kind = 'anchor' THEN '330106********' || lpad((g %% 10000)::text, 4, '0')
                ELSE '' END,
           '1' || lpad((13000000000 + g)::text, 10, '0'),
           '',
           'Bench road ' || g,
           CASE WHEN b >= 10 THEN created_at + make_interval(secs => (g * 31) %% 86400) END,
           CASE WHEN b >= 35 THEN created_at + interval '1 day'
                                  + make_interval(secs => (g * 17) %% 518400) END,
           false, '[]'::jsonb, created_at, created_at
    FROM (SELECT parties.*, substr(platform_ref, 7)::bigint AS g,
                 (substr(platform_ref, 7)::bigint / 10) %% 100 AS b
          FROM parties) p
    RETURNING party_id
),
restrictions AS (
    INSERT INTO accounts_restriction (party_id, kind, starts_at, ends_at, reason, legal_basis,
                                      created_at, created_by, lifted_at, lifted_by, lift_reason,
                                      reversed_on_appeal)
    SELECT id,
           (ARRAY['blacklist', 're_registration', 'live', 'blacklist', 're_registration',
                  'listing'])[k::int + 1],
           CASE WHEN k = 4 THEN now() - interval '400 days' ELSE now() - interval '30 days' END,
           CASE k WHEN 1 THEN now() + interval '365 days'
                  WHEN 2 THEN now() + interval '25 days'
                  WHEN 4 THEN now() - interval '35 days' END,
           'bench restriction', 'LCM Art. 14', now() - interval '30 days', 'system:bench',
           CASE WHEN k = 3 THEN now() - interval '1 day' END,
           CASE WHEN k = 3 THEN 'system:bench' ELSE '' END,
           CASE WHEN k = 3 THEN 'lifted on appeal' ELSE '' END,
           k = 3
    FROM (SELECT parties.id, (substr(platform_ref, 7)::bigint / 100) %% 6 AS k
          FROM parties WHERE substr(platform_ref, 7)::bigint %% 100 = 42) r
    RETURNING id
)
INSERT INTO credit_sanctionentry (kind, identity_hash, name, identifier_masked, authority,
                                  reference, decided_on, ends_on, imported_at, imported_by)
SELECT (ARRAY['false_ad_endorsement', 'administrative_penalty', 'serious_dishonesty',
              'abnormal_operation'])[((g / 20) %% 4)::int + 1],
       encode(sha256(convert_to('id-' || g, 'UTF8')), 'hex'),
       'Bench party ' || g,
       '9133************',
       'Bench market regulation bureau',
       'BENCH-' || g,
       current_date - ((g / 20) %% 1000)::int,
       CASE WHEN (g / 20) %% 3 = 0 THEN current_date - ((g / 20) %% 1000)::int + 1095 END,
       now(),
       'system:bench'
FROM src WHERE g %% 20 = 7
""".replace("@STATUS@", STATUS_SQL)

# Restriction kinds by (g / 100) % 6; the first two bar a new registration and are in force.
RESTRICTIONS = [
    "blacklist (in force)",
    "re_registration (in force)",
    "live (in force)",
    "blacklist (lifted)",
    "re_registration (ended)",
    "listing (in force)",
]


def synthetic_hash(g: int) -> str:
    import hashlib

    return hashlib.sha256(f"id-{g}".encode()).hexdigest()


def synthetic_kind(g: int) -> str:
    return "merchant" if g % 10 < 6 else "anchor" if g % 10 < 9 else "agency"


def generate(target: int, batch: int) -> None:
    from django.db import connection

    heading(f"Scale data: {target:,} parties")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM accounts_party WHERE platform_ref LIKE %s", ["bench-%"]
        )
        have = cursor.fetchone()[0]
    if have >= target:
        print(f"  {have:,} synthetic parties already there; nothing to generate.")
        return
    print(
        f"  {have:,} synthetic parties there; generating {have + 1:,}..{target:,} "
        f"in statements of {batch:,}."
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # Bench data only: a crash loses at most the last batch, and each batch commits alone.
        cursor.execute("SET synchronous_commit TO off")
        for lo in range(have + 1, target + 1, batch):
            hi = min(lo + batch - 1, target)
            t0 = time.perf_counter()
            cursor.execute(GENERATE_SQL, {"lo": lo, "hi": hi})
            print(f"  parties {lo:>9,}..{hi:>9,}  {time.perf_counter() - t0:6.1f} s")
        cursor.execute("SET synchronous_commit TO on")
    inserted = time.perf_counter() - started
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        for name in sorted(BIG_TABLES):
            cursor.execute(f"VACUUM (ANALYZE) {name}")
    vacuumed = time.perf_counter() - t0
    print(
        f"  inserted in {inserted:.1f} s; VACUUM (ANALYZE) in {vacuumed:.1f} s; "
        f"generation took {inserted + vacuumed:.1f} s in all."
    )


def print_sizes() -> None:
    from django.db import connection

    rows = []
    with connection.cursor() as cursor:
        for name in sorted(BIG_TABLES):
            cursor.execute(
                "SELECT (SELECT count(*) FROM " + name + "), "  # noqa: S608 - fixed names
                "pg_size_pretty(pg_table_size(%s)), pg_size_pretty(pg_indexes_size(%s))",
                [name, name],
            )
            count, size, indexes = cursor.fetchone()
            rows.append((name, f"{count:,}", size, indexes))
    table(rows, ("table", "rows", "heap", "indexes"))


# --- a. file submission with three documents ---------------------------------------------------


def make_credit_code(rng: random.Random) -> str:
    """A valid unified social credit code (GB 32100) with a random organisation serial."""
    from stdnum.cn import uscc

    body = f"91330106{rng.randrange(10**8):08d}X"
    number = body + uscc.calc_check_digit(body)
    uscc.validate(number)
    return number


def small_jpeg(seed: int) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 480), (240, 240, 235))
    draw = ImageDraw.Draw(image)
    for i in range(12):
        y = 40 + i * 34
        draw.rectangle([40, y, 600 - (seed * 37 + i * 53) % 300, y + 14], fill=(60, 60, 70))
    draw.rectangle([480, 320, 600, 440], outline=(200, 30, 30), width=6)  # the seal
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def bench_submission(count: int, rng: random.Random) -> dict:
    from django.core.exceptions import ValidationError
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test.utils import override_settings

    from accounts import registration
    from accounts.actors import Actor
    from accounts.models import DocumentKind, PartyKind
    from merchants.models import Category, EntityType, LicenceKind
    from merchants.services import LicenceData, business_file_create

    heading(f"a. File submission with three documents ({count} files, real services)")
    actor = Actor.system("bench")
    documents = [
        (DocumentKind.BUSINESS_LICENCE, small_jpeg(1)),
        (DocumentKind.ADMINISTRATIVE_LICENCE, small_jpeg(2)),
        (DocumentKind.OTHER, small_jpeg(3)),
    ]
    print(
        f"  each: business_file_create (food, business + food licences), document_add x3 "
        f"(640x480 JPEG, {', '.join(f'{len(d) / 1024:.0f}' for _k, d in documents)} KiB), "
        f"file_submit; images stored under a temporary MEDIA_ROOT, removed afterwards"
    )
    today = date.today()
    timings: dict[str, list[float]] = {"create": [], "documents": [], "submit": [], "total": []}
    rejected = []
    with (
        tempfile.TemporaryDirectory(prefix="lcc-bench-media-") as media,
        override_settings(MEDIA_ROOT=media),
    ):
        done = attempts = 0
        while done < count:
            attempts += 1
            if attempts > 3 * count:
                raise RuntimeError("business_file_create keeps refusing new identities")
            code = make_credit_code(rng)
            t0 = time.perf_counter()
            try:
                file = business_file_create(
                    kind=PartyKind.MERCHANT,
                    entity_type=EntityType.ENTERPRISE,
                    name=f"基准食品有限公司 {uuid.uuid4().hex[:8]}",
                    representative="王基准",
                    contact_phone="13800000000",
                    address="杭州市西湖区基准路 1 号",
                    credit_code=code,
                    categories=[Category.FOOD],
                    licences=[
                        LicenceData(
                            LicenceKind.BUSINESS,
                            f"B{code}",
                            "杭州市市场监督管理局",
                            today - timedelta(days=800),
                        ),
                        LicenceData(
                            LicenceKind.FOOD_BUSINESS,
                            f"JY1{code[-12:]}",
                            "杭州市市场监督管理局",
                            today - timedelta(days=200),
                            today + timedelta(days=1600),
                        ),
                    ],
                    actor=actor,
                )
            except ValidationError:
                continue  # the random serial is taken already: draw another
            t1 = time.perf_counter()
            for kind, data in documents:
                upload = SimpleUploadedFile("scan.jpg", data, content_type="image/jpeg")
                registration.document_add(file=file, kind=kind, upload=upload, actor=actor)
            t2 = time.perf_counter()
            result = registration.file_submit(file=file, actor=actor)
            t3 = time.perf_counter()
            if not result.accepted:
                rejected.append([f.code for f in result.failures])
            timings["create"].append(t1 - t0)
            timings["documents"].append(t2 - t1)
            timings["submit"].append(t3 - t2)
            timings["total"].append(t3 - t0)
            done += 1
    rows = []
    for step, label in [
        ("create", "business_file_create"),
        ("documents", "document_add x3"),
        ("submit", "file_submit (entry checks + transition)"),
        ("total", "whole sequence"),
    ]:
        values = timings[step]
        rows.append(
            (label, ms(statistics.median(values)), ms(percentile(values, 95)), ms(max(values)))
        )
    table(rows, ("step", "median ms", "p95 ms", "max ms"))
    print(
        f"  submitted and accepted: {count - len(rejected)}/{count}"
        + (f"; refused: {rejected[:3]}" if rejected else "")
    )
    return {
        "total_median": statistics.median(timings["total"]),
        "total_p95": percentile(timings["total"], 95),
        "submit_median": statistics.median(timings["submit"]),
        "submit_p95": percentile(timings["submit"], 95),
        "accepted": count - len(rejected),
        "count": count,
    }


# --- b. entry checks ---------------------------------------------------------------------------


def candidate_details(kind: str, today: date) -> dict:
    if kind == "anchor":
        return {
            "birth_date": date(1995, 3, 14),
            "sex": "female",
            "job_title": "",
            "topics": [],
            "is_ai_presenter": False,
            "ai_operator_id": None,
            "qualifications": [],
            "guardian_consent": None,
            "agency_id": None,
        }
    licences = [
        {
            "kind": "business",
            "number": "B1",
            "issuer": "SAMR",
            "valid_from": date(2020, 1, 1),
            "valid_until": None,
            "document_id": None,
        },
        {
            "kind": "food_business",
            "number": "JY1",
            "issuer": "SAMR",
            "valid_from": today - timedelta(days=100),
            "valid_until": today + timedelta(days=900),
            "document_id": None,
        },
    ]
    return {
        "entity_type": "enterprise",
        "representative": "王基准",
        "organisation_form": "",
        "registered_address": "",
        "categories": ["food"],
        "licences": licences,
    }


def build_candidates(n_parties: int, count: int, rng: random.Random) -> list[tuple[str, object]]:
    """(group, Candidate): fresh identities, identities already registered (same kind and,
    for a fifth of them, another kind), identities under a ban in force, sanctioned ones."""
    from accounts.entry_checks import Candidate

    today = date.today()
    plan = {"fresh": 0.40, "registered": 0.30, "banned": 0.20, "sanctioned": 0.10}
    banned_pool = [g for g in range(42, n_parties + 1, 100) if (g // 100) % 6 in (0, 1)]
    sanction_pool = [g for g in range(7, n_parties + 1, 20)]
    out = []
    for group, share in plan.items():
        for i in range(round(count * share)):
            if group == "fresh":
                kind = ("merchant", "anchor", "agency")[i % 3]
                h = synthetic_hash(-1 - rng.randrange(10**12))  # never generated
            else:
                pool = {"banned": banned_pool, "sanctioned": sanction_pool}.get(group)
                g = rng.choice(pool) if pool else rng.randrange(1, n_parties + 1)
                kind = synthetic_kind(g)
                if group == "registered" and i % 5 == 0:  # the same identity, another role
                    kind = "anchor" if kind != "anchor" else "merchant"
                h = synthetic_hash(g)
            out.append(
                (
                    group,
                    Candidate(
                        kind=kind,
                        identity_hash=h,
                        identifier="",
                        details=candidate_details(kind, today),
                    ),
                )
            )
    rng.shuffle(out)
    return out


def plan_nodes(node: dict, out: list[dict]) -> list[dict]:
    out.append(node)
    for child in node.get("Plans", []):
        plan_nodes(child, out)
    return out


def describe_plan(plan: dict) -> str:
    parts = []
    for node in plan_nodes(plan, []):
        text = node["Node Type"]
        if node.get("Relation Name"):
            text += f" on {node['Relation Name']}"
        if node.get("Index Name"):
            text += f" using {node['Index Name']}"
        parts.append(text)
    return " > ".join(parts)


def explain(sql: str, *, planning: bool = False):
    """The plan of `sql` as run (EXPLAIN ANALYZE) and its execution time in ms; with
    planning=True also the planning time."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
        result = cursor.fetchone()[0]
    result = json.loads(result) if isinstance(result, str) else result
    if planning:
        return result[0]["Plan"], result[0]["Execution Time"], result[0]["Planning Time"]
    return result[0]["Plan"], result[0]["Execution Time"]


def seq_scans(plan: dict) -> list[str]:
    return [
        n.get("Relation Name", "?") for n in plan_nodes(plan, []) if "Seq Scan" in n["Node Type"]
    ]


CHECK_OF_TABLE = {
    "accounts_restriction": "identity_banned",
    "accounts_party": "duplicate_identity",
    "credit_sanctionentry": "false_ad_endorsement",
}


def bench_checks(n_parties: int, count: int, rng: random.Random) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.entry_checks import registered_checks, run_entry_checks

    heading(f"b. Entry checks against {n_parties:,} parties ({count} candidates)")
    print("  checks registered: " + ", ".join(c.code for c in registered_checks()))
    print(
        "  candidates: new identities, registered ones (a fifth under another kind), banned ones "
        "(blacklist or re-registration ban in force), sanctioned ones; 20 warm-up runs first, "
        "not counted; timed without query capture, then a second pass counts the queries"
    )
    candidates = build_candidates(n_parties, count, rng)
    for _group, candidate in candidates[:20]:  # warm-up: connection, plans (not counted)
        run_entry_checks(candidate)

    by_group: dict[str, list[float]] = {}
    failures_by_group: dict[str, dict[str, int]] = {}
    for group, candidate in candidates:
        t0 = time.perf_counter()
        failures = run_entry_checks(candidate)
        elapsed = time.perf_counter() - t0
        by_group.setdefault(group, []).append(elapsed)
        seen = failures_by_group.setdefault(group, {})
        for f in failures:
            seen[f.code] = seen.get(f.code, 0) + 1
    every = [t for values in by_group.values() for t in values]

    # A second pass with the queries captured (timed separately: capturing costs a little).
    query_counts: dict[str, set[int]] = {}
    sample_sql: dict[str, list[str]] = {}
    for group, candidate in candidates:
        with CaptureQueriesContext(connection) as captured:
            run_entry_checks(candidate)
        query_counts.setdefault(group, set()).add(len(captured))
        sample_sql.setdefault(group, [q["sql"] for q in captured.captured_queries])

    rows = []
    for group in ["fresh", "registered", "banned", "sanctioned"]:
        values = by_group[group]
        found = ", ".join(f"{k} {v}" for k, v in sorted(failures_by_group[group].items()))
        rows.append(
            (
                group,
                len(values),
                ms(statistics.median(values)),
                ms(percentile(values, 95)),
                ms(percentile(values, 99)),
                ms(max(values)),
                "/".join(str(c) for c in sorted(query_counts[group])),
                found or "none",
            )
        )
    rows.append(
        (
            "all",
            len(every),
            ms(statistics.median(every)),
            ms(percentile(every, 95)),
            ms(percentile(every, 99)),
            ms(max(every)),
            "/".join(str(c) for c in sorted(set().union(*query_counts.values()))),
            "",
        )
    )
    table(
        rows,
        ("candidates", "n", "median ms", "p95 ms", "p99 ms", "max ms", "queries", "failures found"),
    )

    print()
    print("  Plans of each check's query (EXPLAIN ANALYZE, one run per candidate group):")
    all_seq: list[str] = []
    plans_rows = []
    server_ms: dict[str, float] = {}
    for group in ["fresh", "registered", "banned", "sanctioned"]:
        for sql in sample_sql[group]:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            plan, exec_ms, plan_ms = explain(sql, planning=True)
            server_ms.setdefault(group, 0.0)
            server_ms[group] += exec_ms + plan_ms
            tables = sorted(
                {n["Relation Name"] for n in plan_nodes(plan, []) if n.get("Relation Name")}
            )
            check = next((CHECK_OF_TABLE[t] for t in CHECK_OF_TABLE if t in tables), "?")
            scans = seq_scans(plan)
            all_seq.extend(scans)
            plans_rows.append(
                (
                    group,
                    check,
                    f"{plan_ms:.3f}",
                    f"{exec_ms:.3f}",
                    "SEQ SCAN " + ",".join(scans) if scans else "no seq scan",
                    describe_plan(plan),
                )
            )
    table(plans_rows, ("group", "check", "plan ms", "exec ms", "scans", "plan"))
    worst = max(server_ms.values())
    print(
        f"  PostgreSQL's own time for the {len(sample_sql['fresh'])} queries of one run "
        f"(planning + execution): at most {worst:.2f} ms of the {ms(statistics.median(every))} ms "
        "median; the rest is the round trips and Django/psycopg in this process."
    )
    print("  Queries (one 'banned' run):")
    for sql in sample_sql["banned"]:
        print("    " + short_sql(sql, 400))
    return {
        "p50": statistics.median(every),
        "p95": percentile(every, 95),
        "p99": percentile(every, 99),
        "seq_scans": sorted(set(all_seq)),
        "queries": sorted(set().union(*query_counts.values())),
        "caught_banned": failures_by_group["banned"],
        "n_banned": len(by_group["banned"]),
    }


# --- c. baselines ------------------------------------------------------------------------------


def bench_baselines(checks: dict, rng: random.Random, n_parties: int) -> dict:
    from django.db import connection

    from accounts.models import Party

    heading("c. Baselines in the same run")

    def timed(fn, n: int) -> list[float]:
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
        return out

    def select_one():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    select_1 = timed(select_one, 1000)
    indexed = timed(
        lambda: Party.objects.filter(
            identity_hash=synthetic_hash(rng.randrange(1, n_parties + 1))
        ).exists(),
        200,
    )
    # `name` has no index: a name nobody has makes PostgreSQL read the whole table.
    scan = timed(lambda: Party.objects.filter(name=f"no such name {uuid.uuid4()}").exists(), 5)
    scan_plan = json.loads(
        Party.objects.filter(name="no such name").order_by().values("id")[:1].explain(format="json")
    )[0]["Plan"]
    rows = [
        (
            "SELECT 1 round trip",
            1000,
            ms(statistics.median(select_1)),
            ms(percentile(select_1, 95)),
        ),
        (
            "Party by identity_hash (index), exists()",
            200,
            ms(statistics.median(indexed)),
            ms(percentile(indexed, 95)),
        ),
        ("all entry checks, one candidate (from b)", "", ms(checks["p50"]), ms(checks["p95"])),
        (
            "Party by name (no index), exists()",
            5,
            ms(statistics.median(scan)),
            ms(percentile(scan, 95)),
        ),
    ]
    table(rows, ("query", "n", "median ms", "p95 ms"))
    print(f"  unindexed plan: {describe_plan(scan_plan)}")
    ratio_round_trip = checks["p50"] / statistics.median(select_1)
    ratio_scan = statistics.median(scan) / checks["p50"]
    print(
        f"  entry checks (3 queries) = {ratio_round_trip:.1f} x a bare round trip; "
        f"one scan of the party table = {ratio_scan:.0f} x all the entry checks."
    )
    return {
        "select_1": statistics.median(select_1),
        "scan": statistics.median(scan),
        "ratio_round_trip": ratio_round_trip,
        "ratio_scan": ratio_scan,
    }


# --- d. admin queue ----------------------------------------------------------------------------


def admin_client():
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import User

    user = User.objects.filter(username="bench-admin").first()
    if user is None:
        user = User.objects.create_superuser("bench-admin", "bench@localhost", None)
    device = TOTPDevice.objects.filter(user=user, name="bench").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def is_count(sql: str) -> bool:
    return "COUNT(" in sql.upper()


def fetch(client, path: str, repeat: int) -> dict:
    """Render `path` once to warm up, `repeat` times timed, once with the queries captured."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    try:
        response = client.get(path)
        if response.status_code != 200:
            return {"error": f"HTTP {response.status_code} {response.get('Location', '')}"}
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            client.get(path)
            times.append(time.perf_counter() - t0)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
    except Exception as exc:  # a product error: reported, not hidden, and the run goes on
        return {"error": f"{type(exc).__name__}: {exc}"}
    body = response.content.decode()
    listing = body.split('id="result_list"', 1)[-1].split("</table>", 1)[0]
    return {
        "median": statistics.median(times),
        "max": max(times),
        "queries": captured.captured_queries,
        "rows": listing.split("<tbody>", 1)[-1].count("<tr") if 'id="result_list"' in body else "",
    }


def print_counts(queries: list[dict]) -> int:
    """Print the counting queries; EXPLAIN those without a WHERE. Returns how many lack one."""
    full = 0
    for q in queries:
        if not is_count(q["sql"]):
            continue
        unrestricted = " WHERE " not in q["sql"].upper()
        full += unrestricted
        label = "COUNT WITHOUT WHERE" if unrestricted else "count"
        print(f"    {label} ({float(q['time']) * 1000:.0f} ms): {short_sql(q['sql'], 300)}")
        if unrestricted or float(q["time"]) > 0.010:
            plan, exec_ms = explain(q["sql"])
            print(f"      plan ({exec_ms:.1f} ms): {describe_plan(plan)}")
    return full


def bench_admin(repeat: int = 5) -> dict:
    from django.contrib import admin
    from django.urls import NoReverseMatch, reverse

    from accounts.models import Party, RegistrationFile

    heading("d. Admin queue")
    try:
        url = reverse("admin:accounts_registrationfile_changelist")
        model = RegistrationFile
        pages = [
            ("status=submitted", "status__exact=submitted"),
            ("queue=awaiting", "queue=awaiting"),
        ]
        print(
            f"  {url} (registration files); each page rendered once to warm up, "
            f"{repeat} times timed, once with the queries captured"
        )
    except NoReverseMatch:
        url = reverse("admin:accounts_party_changelist")
        model = Party
        pages = [("kind=merchant", "kind__exact=merchant"), ("unfiltered", "")]
        print(
            "  NOTE: no admin is registered for RegistrationFile "
            "(admin:accounts_registrationfile_changelist does not reverse), so there is no "
            "registration queue to render."
        )
        print(f"  Falling back to the party change list, {url}, filtered by kind and unfiltered.")
    model_admin = admin.site._registry[model]
    client = admin_client()
    original = model_admin.list_per_page
    results = []
    try:
        for label, query in pages:
            for per_page in (20, 100):
                model_admin.list_per_page = per_page
                path = f"{url}?{query}" if query else url
                results.append(
                    {
                        "label": label,
                        "path": path,
                        "per_page": per_page,
                        **fetch(client, path, repeat),
                    }
                )
    finally:
        model_admin.list_per_page = original
    index = {
        "label": "admin index (work queues)",
        "path": reverse("admin:index"),
        "per_page": "",
        **fetch(client, reverse("admin:index"), repeat),
    }

    rows = []
    for r in [*results, index]:
        if "error" in r:
            rows.append((r["label"], r["per_page"], "", "", "", "", "ERROR"))
        else:
            rows.append(
                (
                    r["label"],
                    r["per_page"],
                    r["rows"],
                    ms(r["median"]),
                    ms(r["max"]),
                    len(r["queries"]),
                    f"{sum(float(q['time']) for q in r['queries']) * 1000:.1f}",
                )
            )
    table(rows, ("page", "per page", "rows", "median ms", "max ms", "queries", "SQL ms"))

    findings = {}
    for label, _query in pages:
        pair = [r for r in results if r["label"] == label]
        if any("error" in r for r in pair):
            error = next(r["error"] for r in pair if "error" in r)
            print(f"\n  {label}: the page FAILED to render: {error}")
            findings[label] = {"error": error}
            continue
        n20, n100 = len(pair[0]["queries"]), len(pair[1]["queries"])
        print(
            f"\n  {label} ({pair[1]['path']}): {n20} queries at 20 rows, {n100} at 100 -> "
            f"{'constant' if n20 == n100 else 'GROWS WITH THE PAGE'}"
        )
        full = print_counts(pair[1]["queries"])
        slowest = max(pair[1]["queries"], key=lambda q: float(q["time"]))
        print(
            f"    slowest ({float(slowest['time']) * 1000:.0f} ms): "
            f"{short_sql(slowest['sql'], 300)}"
        )
        if float(slowest["time"]) > 0.010:
            plan, exec_ms = explain(slowest["sql"])
            print(f"      plan ({exec_ms:.1f} ms): {describe_plan(plan)}")
        findings[label] = {
            "constant": n20 == n100,
            "full_counts": full,
            "median_20": pair[0]["median"],
            "median_100": pair[1]["median"],
            "queries": (n20, n100),
        }
    if "error" in index:
        print(f"\n  admin index: FAILED to render: {index['error']}")
    else:
        print(
            f"\n  admin index ({index['path']}): {len(index['queries'])} queries; "
            "the queue counts it runs on every view:"
        )
        print_counts(index["queries"])
    return {"model": model.__name__, "findings": findings, "index": index}


# --- summary -----------------------------------------------------------------------------------


def summary(n: int, sub: dict, checks: dict, base: dict, adm: dict) -> int:
    heading("Summary")
    rows = []
    fails = 0

    def add(target: str, figure: str, ok: bool | None):
        nonlocal fails
        verdict = "INFO" if ok is None else "PASS" if ok else "FAIL"
        fails += ok is False
        rows.append((target, figure, verdict))

    add(
        "file submission, 3 documents (no target set)",
        f"median {ms(sub['total_median'])} ms, p95 {ms(sub['total_p95'])} ms",
        None,
    )
    add(
        "  of which file_submit (no target set)",
        f"median {ms(sub['submit_median'])} ms, p95 {ms(sub['submit_p95'])} ms",
        None,
    )
    add(
        "  every benchmark file accepted",
        f"{sub['accepted']}/{sub['count']}",
        sub["accepted"] == sub["count"],
    )
    add(
        f"entry checks p99 < {CHECKS_P99_TARGET_MS:.0f} ms at {n:,} parties",
        f"p50 {ms(checks['p50'])}, p95 {ms(checks['p95'])}, p99 {ms(checks['p99'])} ms",
        checks["p99"] * 1000 < CHECKS_P99_TARGET_MS,
    )
    add(
        "entry checks: index scans only (no Seq Scan)",
        "seq scans on: " + ", ".join(checks["seq_scans"]) if checks["seq_scans"] else "none",
        not checks["seq_scans"],
    )
    caught = sum(
        checks["caught_banned"].get(c, 0) for c in ("blacklisted", "re_registration_banned")
    )
    add(
        "entry checks: banned identities refused",
        f"{caught}/{checks['n_banned']}",
        caught == checks["n_banned"],
    )
    add(
        "baseline: checks vs SELECT 1 / scan vs checks",
        f"{base['ratio_round_trip']:.1f}x / {base['ratio_scan']:.0f}x "
        f"(SELECT 1 {ms(base['select_1'])} ms, scan {ms(base['scan'])} ms)",
        None,
    )
    prefix = "admin queue" if adm["model"] == "RegistrationFile" else "admin (party list fallback)"
    for label, f in adm["findings"].items():
        if "error" in f:
            add(f"{prefix} [{label}]: renders", short_sql(f["error"], 60), False)
            continue
        add(
            f"{prefix} [{label}]: queries constant 20 vs 100",
            f"{f['queries'][0]} vs {f['queries'][1]}",
            f["constant"],
        )
        add(
            f"{prefix} [{label}]: no COUNT without WHERE",
            f"{f['full_counts']} such count(s)",
            f["full_counts"] == 0,
        )
        add(
            f"{prefix} [{label}]: render time (no target set)",
            f"{ms(f['median_20'])} / {ms(f['median_100'])} ms at 20 / 100",
            None,
        )
    if adm["model"] != "RegistrationFile":
        add(
            "admin queue of registration files renders",
            "cannot be measured: RegistrationFile has no admin",
            False,
        )
    index = adm["index"]
    add(
        "admin index with queue counts (no target set)",
        short_sql(index["error"], 60)
        if "error" in index
        else f"{ms(index['median'])} ms, {len(index['queries'])} queries",
        False if "error" in index else None,
    )
    table(rows, ("target", "measured", "result"))
    busiest = max(LOADS)
    if busiest > (os.cpu_count() or 1):
        print(
            f"  NOTE: the 1-minute load reached {busiest:.2f} on {os.cpu_count()} CPUs (this "
            "benchmark and its PostgreSQL backend account for about 1): other processes were "
            "competing for the CPUs, and the latencies above include that."
        )
    return fails


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parties", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--submissions", type=int, default=50)
    parser.add_argument("--candidates", type=int, default=500)
    args = parser.parse_args()

    url = os.environ["DATABASE_URL"]
    print(f"Registration benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    parts = urlsplit(url)
    print(
        f"  database {parts.hostname}:{parts.port or 5432}{parts.path}, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    ensure_database(url)
    setup_django()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
    print(f"  PostgreSQL {version}, shared_buffers {buffers}")

    rng = random.Random(SEED)  # noqa: S311 - reproducible benchmark data, not secrets
    generate(args.parties, args.batch)
    print_sizes()
    sub = bench_submission(args.submissions, random.Random())  # noqa: S311 - new serials each run
    checks = bench_checks(args.parties, args.candidates, rng)
    base = bench_baselines(checks, rng, args.parties)
    adm = bench_admin()
    fails = summary(args.parties, sub, checks, base, adm)
    print()
    print(f"{fails} target(s) failed." if fails else "All targets met.")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
