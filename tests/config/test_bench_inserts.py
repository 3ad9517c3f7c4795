"""The benchmarks' set-based SQL names every column a new row needs.

The scripts under `bench/` build their scale data with `INSERT ... SELECT`, outside the ORM, so
a model field added with a Python default and no database default (Django's usual migration)
makes those statements fail on NOT NULL, and only once a benchmark is run on an empty database.
This reads the statements and holds each one's column list against the models.
"""

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.db.models import NOT_PROVIDED

BENCH = Path(__file__).resolve().parents[2] / "bench"
INSERT = re.compile(r"INSERT INTO\s+(\w+)\s*\(([^)]*)\)\s*(?:SELECT|VALUES|WITH)", re.IGNORECASE)


def statements() -> list[tuple[str, str, set[str]]]:
    found = []
    for path in sorted(BENCH.glob("*.py")):
        for match in INSERT.finditer(path.read_text(encoding="utf-8")):
            columns = {c.strip().strip('"') for c in match.group(2).split(",") if c.strip()}
            found.append((path.name, match.group(1), columns))
    return found


def required_columns(model) -> set[str]:
    """Columns a row cannot be inserted without: NOT NULL, no database default, not serial."""
    required = set()
    for field in model._meta.concrete_fields:
        if field.null or field.db_default is not NOT_PROVIDED:
            continue
        if field.primary_key and field.get_internal_type() in {"AutoField", "BigAutoField"}:
            continue
        required.add(field.column)
    return required


MODELS = {model._meta.db_table: model for model in apps.get_models()}
CHECKED = [s for s in statements() if s[1] in MODELS]


def test_the_benchmarks_insert_into_model_tables():
    # A pattern that stopped matching would make the test below check nothing.
    assert {"accounts_restriction", "liverooms_livesession", "credit_creditevent"} <= {
        table for _, table, _ in CHECKED
    }


@pytest.mark.parametrize(
    ("script", "table", "columns"), CHECKED, ids=[f"{s}:{t}" for s, t, _ in CHECKED]
)
def test_each_insert_names_every_required_column(script, table, columns):
    model = MODELS[table]
    known = {field.column for field in model._meta.concrete_fields}
    assert columns <= known, f"{script} inserts unknown columns into {table}: {columns - known}"
    missing = required_columns(model) - columns
    assert not missing, f"{script} inserts into {table} without {sorted(missing)}"
