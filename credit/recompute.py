"""The nightly full recompute: every party's score from every event, in a few set-based
statements -- the same formula as `credit.rules.compute`, in SQL (a test holds them equal).

1. the new scores go into a temporary table, computed by one INSERT … SELECT over the events
   (deductions and additions with their fading weight, the agency's share of its anchors', the
   recency-weighted evaluations) joined to every party;
2. the changes are appended to the history;
3. the scores are upserted.
Python holds no rows: memory stays flat whatever the number of events.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from credit.models import Job
from credit.rules import Rules
from credit.scoring import rule_set_in_force

# PostgreSQL: memory for the hash aggregates, joins and the one sort over every party (about
# 100 MB per 500,000 parties each), for the recompute's transaction only. At the default 4 MB
# they spill to temporary files: no slower on a machine whose page cache holds them (bench/
# README.md), slower where those files reach the disk.
WORK_MEM = "256MB"


def session_settings(vendor: str) -> list[str]:
    """Statements run first in the recompute's transaction."""
    return [f"SET LOCAL work_mem = '{WORK_MEM}'"] if vendor == "postgresql" else []


def _age(vendor: str, column: str) -> str:
    if vendor == "postgresql":
        # date_part, not EXTRACT: since PostgreSQL 14 EXTRACT returns numeric, and numeric
        # arithmetic (POWER above all) took most of the statement's time. date_part gives double
        # precision, which is also what the Python formula computes with.
        return f"(date_part('epoch', %(now)s::timestamptz - {column}) / 86400.0)"
    return f"(julianday(%(now)s) - julianday({column}))"


def _weight(age: str, greatest: str, least: str) -> str:
    """`Rules.weight` with `age` written once: below `full_days` (and for a future date) the
    fading fraction is above 1 and is clamped to 1; from `gone_days` on it is clamped to 0."""
    return f"""CASE WHEN rule = 'training'
        THEN CASE WHEN {age} < %(training_days)s THEN 1.0 ELSE 0.0 END
        ELSE {greatest}(0.0, {least}(1.0,
            (%(gone_days)s - {age}) / (%(gone_days)s - %(full_days)s)))
    END"""


def _half_up(value: str) -> str:
    """`credit.rules.half_up`: to 6 decimals (through numeric: PostgreSQL rounds no float8 to
    places), then FLOOR(x + 0.5)."""
    return f"FLOOR(ROUND(CAST({value} AS numeric), 6) + 0.5)"


def _grade_case(rules: Rules) -> tuple[str, dict]:
    parts, params = [], {}
    for i, (name, floor) in enumerate(rules.grades):
        parts.append(f"WHEN s.score >= %(g{i}_floor)s THEN %(g{i}_name)s")
        params[f"g{i}_floor"] = floor
        params[f"g{i}_name"] = name
    return "CASE " + " ".join(parts) + f" ELSE %(g{len(rules.grades) - 1}_name)s END", params


def statements(rules: Rules, vendor: str) -> tuple[list[str], dict]:
    greatest, least = ("GREATEST", "LEAST") if vendor == "postgresql" else ("MAX", "MIN")
    # Each event's age and counted points are computed once, in a subquery that PostgreSQL must
    # not flatten (OFFSET 0): flattened, the expression is evaluated again at every reference,
    # and the aggregates reference it several times.
    fence = "OFFSET 0" if vendor == "postgresql" else ""
    # A range on occurred_at a day wider than the window, so that only the window's evaluations
    # are aged; SQLite compares dates as text, so it ages them all.
    window = (
        "AND e.occurred_at > %(now)s::timestamptz - make_interval(days => %(window_days)s + 1)"
        if vendor == "postgresql"
        else ""
    )
    weight = _weight("age", greatest, least)
    # The evaluations' points either side of neutral, associated as `evaluation_points` does.
    up = _half_up("%(evaluation_points)s * ((ev.average - %(neutral)s) / %(up_span)s)")
    down = _half_up("%(evaluation_points)s * ((ev.average - %(neutral)s) / %(down_span)s)")
    grade, grade_params = _grade_case(rules)
    params = {
        "training_days": rules.training_days,
        "full_days": rules.full_days,
        "gone_days": rules.gone_days,
        "window_days": rules.window_days,
        "half_life": rules.half_life_days,
        "neutral": rules.neutral,
        "up_span": 5 - rules.neutral,
        "down_span": rules.neutral - 1,
        "evaluation_points": rules.evaluation_points,
        "min_count": rules.min_evaluations,
        "share": rules.anchor_share,
        "base": rules.base,
        "minimum": rules.minimum,
        "maximum": rules.maximum,
        **grade_params,
    }
    create = """
    CREATE TEMPORARY TABLE credit_new_scores (
        party_id bigint PRIMARY KEY, score integer, grade varchar(8),
        deductions integer, additions integer, evaluation_points integer
    )"""
    # Only fixed fragments are interpolated (the age and weight expressions, the fence, the grade
    # CASE); every value is a parameter.
    #
    # One pass over the events that count by points (`own`) gives each party's deductions and
    # additions, and apart the part an agency carries (violations and measures); the agency's
    # share then comes from its current anchors' rows of `own` (one per anchor), not from the
    # events again. Evaluations are read in a second pass, only those of the window: the range
    # on `occurred_at` is a day wider than the window and the exact test is on the age.
    fill = f"""
    INSERT INTO credit_new_scores
    WITH own AS (
        SELECT party_id,
               SUM({least}(c, 0)) AS ded,
               SUM({greatest}(c, 0)) AS addi,
               SUM(CASE WHEN for_agency THEN {least}(c, 0) ELSE 0 END) AS anchor_ded,
               SUM(CASE WHEN for_agency THEN {greatest}(c, 0) ELSE 0 END) AS anchor_addi
        FROM (
            SELECT party_id, points * {weight} AS c,
                   (rule = 'violation' OR rule LIKE 'measure.%%') AS for_agency
            FROM (
                SELECT e.party_id, e.rule, e.points, {_age(vendor, "e.occurred_at")} AS age
                FROM credit_creditevent e
                WHERE e.kind <> 'evaluation' AND e.rule <> 'evaluation'
                {fence}
            ) aged
            {fence}
        ) counted
        GROUP BY party_id
    ),
    agency AS (
        SELECT m.agency_id AS party_id,
               SUM(o.anchor_ded) * %(share)s AS ded,
               SUM(o.anchor_addi) * %(share)s AS addi
        FROM own o
        JOIN anchors_agencymembership m ON m.anchor_id = o.party_id AND m.ended_at IS NULL
        GROUP BY m.agency_id
    ),
    rated AS (
        SELECT party_id, POWER(0.5, age / %(half_life)s) AS w, v
        FROM (
            SELECT e.party_id, CAST(e.value AS double precision) AS v,
                   {_age(vendor, "e.occurred_at")} AS age
            FROM credit_creditevent e
            WHERE e.kind = 'evaluation' AND e.value IS NOT NULL
              {window}
              AND NOT EXISTS (
                  SELECT 1 FROM credit_creditevent r
                  WHERE r.reverses_id = e.id AND r.reverses_id IS NOT NULL
              )
            {fence}
        ) aged
        WHERE age >= 0 AND age < %(window_days)s
    ),
    evaluations AS (
        SELECT party_id, SUM(w * v) / SUM(w) AS average, COUNT(*) AS n
        FROM rated GROUP BY party_id
    ),
    scored AS (
        SELECT p.id AS party_id,
               COALESCE(o.ded, 0) + COALESCE(a.ded, 0) AS ded,
               COALESCE(o.addi, 0) + COALESCE(a.addi, 0) AS addi,
               CASE
                   WHEN ev.n IS NULL OR ev.n < %(min_count)s THEN 0
                   WHEN ev.average >= %(neutral)s THEN {up}
                   ELSE {down}
               END AS evp
        FROM accounts_party p
        LEFT JOIN own o ON o.party_id = p.id
        LEFT JOIN agency a ON a.party_id = p.id
        LEFT JOIN evaluations ev ON ev.party_id = p.id
    ),
    s AS (
        SELECT party_id, ded, addi, evp,
               {greatest}(%(minimum)s, {least}(%(maximum)s,
                   CAST({_half_up("%(base)s + ded + addi + evp")} AS integer))) AS score
        FROM scored
    )
    SELECT s.party_id, s.score, {grade},
           CAST(FLOOR(s.ded + 0.5) AS integer), CAST(FLOOR(s.addi + 0.5) AS integer),
           CAST(s.evp AS integer)
    FROM s"""  # noqa: S608
    history = """
    INSERT INTO credit_scorechange (party_id, at, score, grade, rule_set_id, cause)
    SELECT n.party_id, %(now)s, n.score, n.grade, %(rule_set)s, 'recompute'
    FROM credit_new_scores n
    LEFT JOIN credit_creditscore c ON c.party_id = n.party_id
    WHERE c.party_id IS NULL OR c.score <> n.score OR c.grade <> n.grade
       OR c.rule_set_id <> %(rule_set)s"""
    upsert = """
    INSERT INTO credit_creditscore (party_id, score, grade, rule_set_id, deductions, additions,
                                    evaluation_points, computed_at)
    SELECT party_id, score, grade, %(rule_set)s, deductions, additions, evaluation_points, %(now)s
    FROM credit_new_scores WHERE true
    ON CONFLICT (party_id) DO UPDATE SET
        score = excluded.score, grade = excluded.grade, rule_set_id = excluded.rule_set_id,
        deductions = excluded.deductions, additions = excluded.additions,
        evaluation_points = excluded.evaluation_points, computed_at = excluded.computed_at"""
    drop = "DROP TABLE credit_new_scores"
    return [create, fill, history, upsert, drop], params


class _Progress:
    """Writes a Job's progress where the admin can see it while the recompute's transaction is
    still open: through a connection of its own on PostgreSQL (in autocommit), in the same
    transaction elsewhere (SQLite allows one writer; it shows at the end)."""

    def __init__(self, job_id: int | None):
        self.job_id = job_id
        self.side = None
        if job_id and connection.vendor == "postgresql":
            self.side = connections.create_connection(DEFAULT_DB_ALIAS)

    def update(self, **fields) -> None:
        if not self.job_id:
            return
        if self.side is None:
            Job.objects.filter(pk=self.job_id).update(**fields)
            return
        columns = ", ".join(f"{name} = %s" for name in fields)
        with self.side.cursor() as cursor:
            cursor.execute(
                f"UPDATE credit_job SET {columns} WHERE id = %s",  # noqa: S608 - our own names
                [*fields.values(), self.job_id],
            )
            seen = cursor.rowcount
        if not seen:
            # The job row is not committed yet (created in the caller's transaction): it can
            # only be written from there.
            self.side.close()
            self.side = None
            Job.objects.filter(pk=self.job_id).update(**fields)

    def close(self) -> None:
        if self.side is not None:
            self.side.close()


def recompute_all(*, job_id: int | None = None, now=None) -> int:
    """Recompute every score; returns how many changed. Reports progress to a Job if given."""
    now = now or timezone.now()
    row, rules = rule_set_in_force()
    sql, params = statements(rules, connection.vendor)
    params = {**params, "now": now, "rule_set": row.pk}
    progress = _Progress(job_id)
    progress.update(status=Job.Status.RUNNING, total=len(sql), done=0)
    changed = 0
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for setting in session_settings(connection.vendor):
                cursor.execute(setting)
            for step, statement in enumerate(sql, start=1):
                cursor.execute(statement, params)
                if "credit_scorechange" in statement:
                    changed = cursor.rowcount
                progress.update(done=step)
    except Exception as exc:
        progress.update(status=Job.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now())
        progress.close()
        raise
    if job_id:
        Job.objects.filter(pk=job_id).update(
            status=Job.Status.DONE, result={"changed": changed}, finished_at=timezone.now()
        )
    progress.close()
    return changed
