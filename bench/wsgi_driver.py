"""Calls a WSGI application in this process with a list of POSTs: bench/gate.py runs it under
Valgrind's callgrind to count the instructions a request costs the Python that serves it.

    python bench/wsgi_driver.py SPEC.json

SPEC holds `module` (`config.wsgi`, what gunicorn serves, or `bare_wsgi`, the baselines), `path`,
`authorization`, `status` (the answer every request must get), `count` and `bodies` (the first
`count` are sent, in order). The requests are built as gunicorn's sync worker builds their
environ, without a socket: what is counted is Django's handler and everything it calls, not
gunicorn's parsing of the request or the kernel.

It exits 1 if an answer is not the expected one: an instruction count of errors says nothing.
"""

import io
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]


def environ(path: str, authorization: str, body: bytes) -> dict:
    return {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "RAW_URI": path,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_ACCEPT": "*/*",
        "HTTP_USER_AGENT": "wsgi-driver",
        "HTTP_AUTHORIZATION": authorization,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    module = __import__(spec["module"], fromlist=["application"])
    application = module.application
    answers: list[str] = []

    def start_response(status, headers, exc_info=None):
        answers.append(status)

    for data in spec["bodies"][: spec["count"]]:
        body = json.dumps(data).encode()
        result = application(environ(spec["path"], spec["authorization"], body), start_response)
        try:
            for _chunk in result:
                pass
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    wrong = [status for status in answers if not status.startswith(str(spec["status"]))]
    if wrong or len(answers) != spec["count"]:
        print(f"expected {spec['count']} x {spec['status']}, got {wrong[:3]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
