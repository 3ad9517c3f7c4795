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

from django.db import connection, transaction
from django.utils import timezone

from credit.models import Job
from credit.rules import Rules
from credit.scoring import rule_set_in_force


def _age(vendor: str, column: str) -> str:
    if vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM (%(now)s::timestamptz - {column})) / 86400.0)"
    return f"(julianday(%(now)s) - julianday({column}))"


def _weight(age: str) -> str:
    return f"""CASE
        WHEN {age} < 0 THEN 1.0
        WHEN e.rule = 'training' THEN CASE WHEN {age} < %(training_days)s THEN 1.0 ELSE 0.0 END
        WHEN {age} <= %(full_days)s THEN 1.0
        WHEN {age} >= %(gone_days)s THEN 0.0
        ELSE (%(gone_days)s - {age}) / (%(gone_days)s - %(full_days)s)
    END"""


def _grade_case(rules: Rules) -> tuple[str, dict]:
    parts, params = [], {}
    for i, (name, floor) in enumerate(rules.grades):
        parts.append(f"WHEN s.score >= %(g{i}_floor)s THEN %(g{i}_name)s")
        params[f"g{i}_floor"] = floor
        params[f"g{i}_name"] = name
    return "CASE " + " ".join(parts) + f" ELSE %(g{len(rules.grades) - 1}_name)s END", params


def statements(rules: Rules, vendor: str) -> tuple[list[str], dict]:
    age = _age(vendor, "e.occurred_at")
    weight = _weight(age)
    greatest, least = ("GREATEST", "LEAST") if vendor == "postgresql" else ("MAX", "MIN")
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
    # Only fixed fragments are interpolated (the age and weight expressions, the grade CASE);
    # every value is a parameter.
    fill = f"""
    INSERT INTO credit_new_scores
    WITH counted AS (
        SELECT e.party_id, e.rule, e.points * {weight} AS c
        FROM credit_creditevent e
        WHERE e.kind <> 'evaluation' AND e.rule <> 'evaluation'
    ),
    own AS (
        SELECT party_id,
               SUM(CASE WHEN c < 0 THEN c ELSE 0 END) AS ded,
               SUM(CASE WHEN c > 0 THEN c ELSE 0 END) AS addi
        FROM counted GROUP BY party_id
    ),
    agency AS (
        SELECT m.agency_id AS party_id,
               SUM(CASE WHEN k.c < 0 THEN k.c ELSE 0 END) * %(share)s AS ded,
               SUM(CASE WHEN k.c > 0 THEN k.c ELSE 0 END) * %(share)s AS addi
        FROM counted k
        JOIN anchors_agencymembership m ON m.anchor_id = k.party_id AND m.ended_at IS NULL
        WHERE k.rule = 'violation' OR k.rule LIKE 'measure.%%'
        GROUP BY m.agency_id
    ),
    rated AS (
        SELECT e.party_id, POWER(0.5, {age} / %(half_life)s) AS w, e.value AS v
        FROM credit_creditevent e
        WHERE e.kind = 'evaluation' AND e.value IS NOT NULL
          AND {age} >= 0 AND {age} < %(window_days)s
          AND NOT EXISTS (SELECT 1 FROM credit_creditevent r WHERE r.reverses_id = e.id)
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
                   WHEN ev.average >= %(neutral)s THEN FLOOR(
                       %(evaluation_points)s * (ev.average - %(neutral)s) / %(up_span)s + 0.5)
                   ELSE FLOOR(
                       %(evaluation_points)s * (ev.average - %(neutral)s) / %(down_span)s + 0.5)
               END AS evp
        FROM accounts_party p
        LEFT JOIN own o ON o.party_id = p.id
        LEFT JOIN agency a ON a.party_id = p.id
        LEFT JOIN evaluations ev ON ev.party_id = p.id
    ),
    s AS (
        SELECT party_id, ded, addi, evp,
               {greatest}(%(minimum)s, {least}(%(maximum)s,
                   CAST(FLOOR(%(base)s + ded + addi + evp + 0.5) AS integer))) AS score
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


def recompute_all(*, job_id: int | None = None, now=None) -> int:
    """Recompute every score; returns how many changed. Reports progress to a Job if given."""
    now = now or timezone.now()
    row, rules = rule_set_in_force()
    sql, params = statements(rules, connection.vendor)
    params = {**params, "now": now, "rule_set": row.pk}
    steps = len(sql)
    job = Job.objects.filter(pk=job_id).first() if job_id else None
    if job is not None:
        Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, total=steps, done=0)
    changed = 0
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for step, statement in enumerate(sql, start=1):
                cursor.execute(statement, params)
                if "credit_scorechange" in statement:
                    changed = cursor.rowcount
                if job is not None:
                    Job.objects.filter(pk=job.pk).update(done=step)
    except Exception as exc:
        if job is not None:
            Job.objects.filter(pk=job.pk).update(
                status=Job.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
            )
        raise
    if job is not None:
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.DONE, result={"changed": changed}, finished_at=timezone.now()
        )
    return changed
