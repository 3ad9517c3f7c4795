"""bin/audit-dependencies decides from PyPI's per-project JSON; these are its decisions on
answers shaped as PyPI gives them (no network)."""

import importlib.machinery
import importlib.util
import io
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bin" / "audit-dependencies"


def _load():
    loader = importlib.machinery.SourceFileLoader("audit_dependencies", str(SCRIPT))
    spec = importlib.util.spec_from_loader("audit_dependencies", loader)
    module = importlib.util.module_from_spec(spec)
    # Dataclasses look their module up by name while the file runs.
    sys.modules[spec.name] = module
    loader.exec_module(module)
    return module


audit = _load()

# An entry of the `vulnerabilities` list, in PyPI's fields.
ADVISORY = {
    "aliases": ["CVE-2099-0001", "GHSA-xxxx-yyyy-zzzz"],
    "details": "A crafted request exhausts memory.",
    "summary": None,
    "fixed_in": ["4.2.1"],
    "id": "PYSEC-2099-1",
    "link": "https://osv.dev/vulnerability/PYSEC-2099-1",
    "source": "osv",
    "withdrawn": None,
}


def project(latest, vulnerabilities=(), releases=None):
    releases = releases or {latest: [{"filename": "x.whl", "yanked": False}]}
    return {
        "info": {"version": latest},
        "releases": releases,
        "vulnerabilities": list(vulnerabilities),
    }


def pkg(version, name="sample", direct_url=None):
    return audit.Installed(name, version, direct_url)


def test_the_latest_release_with_no_known_vulnerability_is_clean():
    assert audit.decide(pkg("4.2"), project("4.2")).status == audit.OK


def test_a_known_vulnerability_of_the_installed_latest_release_is_reported():
    finding = audit.decide(pkg("4.2"), project("4.2", [ADVISORY]))
    assert finding.status == audit.VULNERABLE
    assert [v["id"] for v in finding.vulnerabilities] == ["PYSEC-2099-1"]


def test_a_withdrawn_advisory_does_not_count():
    withdrawn = {**ADVISORY, "withdrawn": "2099-02-01T00:00:00Z"}
    assert audit.decide(pkg("4.2"), project("4.2", [withdrawn])).status == audit.OK


def test_an_advisory_fixed_in_the_installed_release_does_not_count():
    assert audit.decide(pkg("4.2.1"), project("4.2.1", [ADVISORY])).status == audit.OK


def test_an_older_release_is_not_cleared_by_a_clean_latest_one():
    # The latest release lists nothing: that says nothing about 4.1, which may have what 4.2 fixed.
    finding = audit.decide(pkg("4.1"), project("4.2"))
    assert finding.status == audit.UNCHECKED
    assert "latest release 4.2" in finding.reason


def test_an_older_release_names_what_its_latest_is_known_to_have():
    finding = audit.decide(pkg("4.1"), project("4.2", [ADVISORY]))
    assert finding.status == audit.UNCHECKED
    assert "1 known for 4.2 may affect this one" in finding.reason


def test_the_same_version_written_differently_is_the_latest():
    assert audit.decide(pkg("4.2.0"), project("4.2", [ADVISORY])).status == audit.VULNERABLE


def test_a_local_install_and_a_missing_project_are_not_checked():
    local = audit.decide(pkg("0.1.0", direct_url="file:///work/main"), None)
    assert local.status == audit.UNCHECKED
    assert "file:///work/main" in local.reason
    missing = audit.decide(pkg("1.0"), None, "not found on PyPI")
    assert (missing.status, missing.reason) == (audit.UNCHECKED, "not found on PyPI")


def test_a_yanked_installed_release_is_noted():
    releases = {"4.2": [{"filename": "x.whl", "yanked": True, "yanked_reason": "broken wheel"}]}
    finding = audit.decide(pkg("4.2"), project("4.2", releases=releases))
    assert finding.status == audit.OK
    assert finding.notes == ["this release was yanked from PyPI: broken wheel"]


@pytest.mark.parametrize(
    ("statuses", "strict", "code"),
    [
        (["ok", "ok"], False, 0),
        (["ok", "unchecked"], False, 0),
        (["ok", "unchecked"], True, 2),
        (["unchecked", "vulnerable"], True, 1),
        (["vulnerable"], False, 1),
    ],
)
def test_the_exit_status(statuses, strict, code):
    findings = [audit.Finding(pkg("1.0", name=f"p{i}"), s) for i, s in enumerate(statuses)]
    assert audit.exit_status(findings, strict=strict) == code


def test_the_audit_asks_pypi_once_per_distribution_and_reports_each():
    answers = {
        "clean": (project("2.0"), None),
        "bad": (project("4.2", [ADVISORY]), None),
        "gone": (None, "not found on PyPI"),
    }
    asked = []

    def fetch(name):
        asked.append(name)
        return answers[name]

    packages = [
        pkg("2.0", "clean"),
        pkg("4.2", "bad"),
        pkg("1.0", "gone"),
        pkg("0.1", "me", "file:///x"),
    ]
    findings = audit.audit(packages, fetch, workers=2)
    assert sorted(asked) == ["bad", "clean", "gone"]
    out = io.StringIO()
    audit.report(findings, out)
    text = out.getvalue()
    assert (
        "VULNERABLE bad 4.2: PYSEC-2099-1, CVE-2099-0001, GHSA-xxxx-yyyy-zzzz; fixed in 4.2.1"
        in text
    )
    assert "UNCHECKED  gone 1.0: not found on PyPI" in text
    assert "UNCHECKED  me 0.1: installed from file:///x, not from PyPI" in text
    assert text.rstrip().endswith("4 distributions: 1 checked clean, 1 vulnerable, 2 not checked")
    assert audit.exit_status(findings, strict=False) == 1
