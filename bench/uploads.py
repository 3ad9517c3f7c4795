"""Hostile uploads: every file of the corpus refused fast and without a memory blow-up.

    .venv/bin/python bench/uploads.py [--repeat 3] [--only image|evidence|sanctions]

Runs the corpus of tests/security/hostile_files.py (decompression bombs, polyglots, truncated
files, disguised types, hostile names, files one byte over the caps, and valid controls) through
the validator behind each upload entry point, at the product's real caps:

  image      accounts.uploads.clean_image: registration documents, complaint evidence (web form
             and API), inspection screenshots;
  evidence   enforcement.services.evidence_files.store_evidence_file: enforcement evidence files;
  sanctions  the admin's ImportForm and credit.services.sanctions_import_csv: the sanctions list.

For each file and validator it prints the verdict against the one the corpus expects, the time
to the verdict (median of --repeat runs, measured without tracing), the tracemalloc peak of a
separate traced run, the growth of the resident set during that run (Linux: the high-water mark
is reset before each file, after the C heap's free pages are handed back) and the process's max
RSS at that moment, then PASS/FAIL against the target:

  * every file gets the verdict the corpus expects (refusals with their error code);
  * every refusal comes in under 1 second;
  * no memory blow-up: a Python peak under 64 MiB and a resident growth under 128 MiB per file.

Why those bounds: what the validators hold in Python is the upload (at most the 10 MiB image cap,
read once and joined once) and its re-encoding; 64 MiB leaves room for that and says "bounded by
the caps, not by what the file claims". Pixels live in Pillow's C buffers, which tracemalloc does
not see, hence the resident bound: the largest legal image in the corpus is 36 million pixels at
a byte each (36 MiB decoded), and 128 MiB is that plus headroom for Pillow and the interpreter.
The bombs claim 81 million to a trillion pixels; decoding the 50,000 x 50,000 PNG would take
2.5 GB. (The product's own ceiling for a legal image is 40 million pixels; at four bytes a pixel,
an RGBA or CMYK picture of that size decodes to 160 MB, which is the cap working as designed and
not part of this corpus.)

No external database: the sanctions import needs tables, so the script migrates a SQLite database
in a temporary directory, which also holds MEDIA_ROOT. Each import runs in a transaction that is
rolled back. Exit status 1 on FAIL.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import re
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TIME_LIMIT_S = 1.0
PYTHON_PEAK_LIMIT = 64 * 1024 * 1024
RSS_GROWTH_LIMIT = 128 * 1024 * 1024
MIB = 1024 * 1024

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def setup_django(workdir: Path) -> float:
    """Settings as a local run has them, with the database and media in `workdir`."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ["VAR_DIR"] = str(workdir)
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.pop("REDIS_URL", None)
    import django
    from django.core.management import call_command

    django.setup()
    from django.conf import settings

    settings.MEDIA_ROOT = str(workdir / "media")
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    return time.perf_counter() - started


# --- Memory --------------------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    return int(re.search(rf"^{field}:\s+(\d+) kB", _STATUS.read_text(), re.MULTILINE).group(1))


def reset_high_water_mark() -> bool:
    # Free heap pages go back first: otherwise a file may reuse memory an earlier one freed and
    # its cost would not show in the resident size.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def max_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


# --- Validators -----------------------------------------------------------------------------------


def run_image(upload):
    from accounts.uploads import clean_image

    clean_image(upload)


def run_evidence(upload):
    from django.core.files.storage import default_storage

    from enforcement.services.violations import store_evidence_file

    name, *_ = store_evidence_file(upload)
    default_storage.delete(name)  # the bench keeps nothing; its verdict is what counts


def run_sanctions(upload):
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from accounts.actors import Actor
    from credit.admin.sanctions import ImportForm
    from credit.services import sanctions_import_csv

    form = ImportForm(data={}, files={"file": upload})
    if not form.is_valid():
        raise ValidationError(form.errors["file"], code="form")
    with transaction.atomic():
        report = sanctions_import_csv(
            content=form.cleaned_data["file"].read(), actor=Actor(label="bench")
        )
        transaction.set_rollback(True)
    if report.errors:
        raise ValidationError(report.errors, code="report")


VALIDATORS = {"image": run_image, "evidence": run_evidence, "sanctions": run_sanctions}


def verdict_of(error) -> str:
    from tests.security.hostile_files import ACCEPT

    if error is None:
        return ACCEPT
    if hasattr(error, "error_dict"):
        [inner] = error.error_dict["file"]
        return inner.code or "refused"
    return error.error_list[0].code or "refused"


def matches(expected: str, got: str, validator: str) -> bool:
    from tests.security.hostile_files import ACCEPT, REFUSE

    if validator == "sanctions" and expected == REFUSE:
        return got != ACCEPT
    return expected == got


@dataclass
class Row:
    key: str
    validator: str
    size: int
    expected: str
    got: str
    seconds: float
    python_peak: int
    rss_growth: int | None
    max_rss: int

    @property
    def refused(self) -> bool:
        return self.got != "accept"

    def failures(self) -> list[str]:
        found = []
        if not matches(self.expected, self.got, self.validator):
            found.append(f"expected {self.expected}")
        if self.refused and self.seconds >= TIME_LIMIT_S:
            found.append("slow refusal")
        if self.python_peak >= PYTHON_PEAK_LIMIT:
            found.append("python peak")
        if self.rss_growth is not None and self.rss_growth >= RSS_GROWTH_LIMIT:
            found.append("resident growth")
        return found


def attempt(call, item):
    from django.core.exceptions import ValidationError
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(item.name, item.data, content_type=item.content_type)
    try:
        call(upload)
    except ValidationError as exc:
        return exc
    return None


def measure(item, validator: str, repeat: int) -> Row:
    call = VALIDATORS[validator]
    times = []
    error = None
    for _ in range(repeat):
        started = time.perf_counter()
        error = attempt(call, item)
        times.append(time.perf_counter() - started)
    resettable = _STATUS.exists() and reset_high_water_mark()
    baseline = _status_kib("VmRSS") if resettable else 0
    tracemalloc.start()
    attempt(call, item)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    growth = (_status_kib("VmHWM") - baseline) * 1024 if resettable else None
    return Row(
        key=item.key,
        validator=validator,
        size=len(item.data),
        expected=item.verdict(validator),
        got=verdict_of(error),
        seconds=statistics.median(times),
        python_peak=peak,
        rss_growth=growth,
        max_rss=max_rss(),
    )


def human_size(size: int) -> str:
    for unit, scale in (("MiB", MIB), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per file (median)")
    parser.add_argument("--only", choices=sorted(VALIDATORS), action="append")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lcc-bench-uploads-") as workdir:
        migrate_s = setup_django(Path(workdir))
        from django.conf import settings
        from django.utils import translation

        from tests.security.hostile_files import Caps, corpus

        caps = Caps(
            image_bytes=settings.UPLOAD_MAX_BYTES,
            evidence_bytes=settings.ENFORCEMENT_EVIDENCE_MAX_BYTES,
        )
        print(
            f"caps: image {human_size(caps.image_bytes)}, {settings.UPLOAD_MAX_PIXELS:,} pixels; "
            f"evidence {human_size(caps.evidence_bytes)}; SQLite migrated in {migrate_s:.1f} s"
        )
        print(
            f"targets: refusal < {TIME_LIMIT_S:.0f} s, Python peak < {PYTHON_PEAK_LIMIT // MIB} "
            f"MiB, resident growth < {RSS_GROWTH_LIMIT // MIB} MiB per file\n"
        )
        items = corpus(caps)
        started = time.perf_counter()
        for item in items:
            item.data  # noqa: B018 -- built once, outside the measurements
        print(f"corpus: {len(items)} files built in {time.perf_counter() - started:.1f} s\n")

        header = (
            f"{'file':<26}{'validator':<10}{'size':>10}  {'expected':<18}{'got':<18}"
            f"{'time ms':>9}{'py peak':>10}{'rss +':>10}{'max rss':>10}  result"
        )
        print(header)
        print("-" * len(header))
        rows: list[Row] = []
        with translation.override("en"):
            for item in items:
                for validator in args.only or VALIDATORS:
                    row = measure(item, validator, args.repeat)
                    rows.append(row)
                    failures = row.failures()
                    growth = "n/a" if row.rss_growth is None else f"{row.rss_growth / MIB:.1f}"
                    print(
                        f"{row.key:<26}{row.validator:<10}{human_size(row.size):>10}  "
                        f"{row.expected:<18}{row.got:<18}{row.seconds * 1000:>9.1f}"
                        f"{row.python_peak / MIB:>10.1f}{growth:>10}{row.max_rss / MIB:>10.0f}  "
                        + ("PASS" if not failures else "FAIL: " + ", ".join(failures))
                    )

    refusals = [row for row in rows if row.refused]
    failed = [row for row in rows if row.failures()]
    slowest = max(refusals, key=lambda row: row.seconds)
    python = max(rows, key=lambda row: row.python_peak)
    resident = max(rows, key=lambda row: row.rss_growth or 0)
    print(f"\n{len(rows)} runs: {len(refusals)} refusals, {len(rows) - len(refusals)} acceptances")
    print(f"slowest refusal: {slowest.key} ({slowest.validator}) {slowest.seconds * 1000:.1f} ms")
    print(
        f"largest Python peak: {python.key} ({python.validator}) {python.python_peak / MIB:.1f} MiB"
    )
    if resident.rss_growth is not None:
        print(
            f"largest resident growth: {resident.key} ({resident.validator}) "
            f"{resident.rss_growth / MIB:.1f} MiB"
        )
    else:
        print("resident growth: not measurable here (no /proc/self/clear_refs)")
    print(f"process max RSS at the end: {max_rss() / MIB:.0f} MiB")
    verdict = "PASS" if not failed else "FAIL"
    print(
        f"\n{verdict}: every file refused in under {TIME_LIMIT_S:.0f} s without memory blow-up, "
        "and every valid control accepted"
        + (
            ""
            if not failed
            else f" -- {len(failed)} runs failed: "
            + ", ".join(f"{row.key}/{row.validator}" for row in failed)
        )
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
