"""config.wsgi: each worker imports the URLconf as it starts, not on its first request."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Run in a new interpreter: this one imported the URLconf long ago.
PROBE = """
import json, sys
before = "config.urls" in sys.modules
import config.wsgi
print(json.dumps({
    "before": before,
    "urlconf": "config.urls" in sys.modules,
    "views": "liverooms.api.views" in sys.modules,
    "callable": callable(config.wsgi.application),
}))
"""


def test_importing_the_wsgi_application_imports_the_urlconf():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"before": False, "urlconf": True, "views": True, "callable": True}
