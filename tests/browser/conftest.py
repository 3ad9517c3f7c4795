"""Headless Chromium (Debian's package, through its chromedriver) against the live test server.

Without Chromium the browser tests are skipped with the reason; under CI=true that is an error,
as for the integration tests: CI must prove the forms in a real browser.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


def pytest_collection_modifyitems(config, items):
    # This hook sees the whole session's items; only ours need the browser.
    here = Path(__file__).parent
    items = [item for item in items if here in item.path.parents]
    if not items or (CHROMIUM and CHROMEDRIVER):
        return
    reason = "Chromium and chromedriver are not installed (`make browser` installs them)"
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(f"CI=true and {reason}. CI must never skip the browser tests.")
    for item in items:
        item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def browser(settings, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # As root in a container Chromium needs --no-sandbox; the background-networking flags keep it
    # from calling out to the internet this machine does not reach.
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=412,915",  # a phone: the forms must work there
    ):
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp_path)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()
