"""The whole API against its own OpenAPI schema, with requests generated from that schema.

Every operation the schema served at /api/schema/ describes is called with valid (positive) and
invalid (negative) input. No answer may be a server error; every status code, content type and
body must be one the schema documents; and invalid input must be refused. A failure here is a
bug in the API or a lie in its schema, fixed there and never by loosening a check.

The run is reproducible: Hypothesis is derandomized, so CI sees the same requests every time.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.fuzz.conftest import SENT

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=25,
    deterministic=True,
    # The key is the test's own; generated Authorization headers would only ever be refused.
    with_security_parameters=False,
    # Derandomized runs replay nothing, so there is nothing to keep between runs.
    database="none",
)


def _call(case, raw_key: str, key: str) -> None:
    headers = {"Authorization": f"Bearer {raw_key}"}
    response = case.call(headers=headers)
    mode = case.meta.generation.mode.value if case.meta else "explicit"
    SENT[(key, case.operation.label, mode, response.status_code // 100)] += 1
    checks = CHECKS
    if _sent_without_its_empty_fields(case):
        checks = [check for check in CHECKS if check is not negative_data_rejection]
    case.validate_response(response, checks=checks, headers=headers)


def _sent_without_its_empty_fields(case) -> bool:
    """Schemathesis's WSGI transport leaves a multipart field whose value is "" out of the body
    it sends, while the case still holds it. A case made negative by such a value (an empty
    date) reaches the server as a valid one without the field, so its acceptance proves
    nothing; everything else about its answer is still checked. (An empty date that does reach
    the server is refused: tests/merchants/test_products_api.py.)"""
    return (
        (case.media_type or "").startswith("multipart/")
        and isinstance(case.body, dict)
        and "" in case.body.values()
    )


# The world and the key are made once per operation and shared by its examples on purpose:
# the records an example creates are there for the next ones to find, as on a real server.
SHARED_FIXTURES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
# The bound key reaches less and mostly meets the same code: fewer examples keep the run short.
BOUND_EXAMPLES = 8


@schema.parametrize()
@SHARED_FIXTURES
def test_the_api_keeps_to_its_schema(case, platform_key):
    _call(case, platform_key, "platform key")


@schema.parametrize()
@settings(parent=SHARED_FIXTURES, max_examples=BOUND_EXAMPLES)
def test_the_api_keeps_to_its_schema_for_a_party_s_own_key(case, merchant_key):
    _call(case, merchant_key, "merchant's key")
