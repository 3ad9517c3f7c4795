"""A request body larger than its path's largest legitimate upload is refused before anything
reads it (config.middleware.request_size_middleware)."""

import pytest
from django.test import Client

from complaints.models import Case
from complaints.services.base import MAX_EVIDENCE
from config.middleware import request_max_bytes

pytestmark = pytest.mark.django_db


def declared(size: int) -> dict:
    """A request that declares `size` bytes; the middleware must answer without reading them."""
    return {"CONTENT_LENGTH": str(size)}


def test_a_public_form_refuses_a_body_beyond_nine_full_size_images_unread(settings):
    limit = MAX_EVIDENCE * settings.UPLOAD_MAX_BYTES + 1024 * 1024
    assert request_max_bytes("/complaints/new/") == limit
    response = Client().post(
        "/complaints/new/",
        "x",
        content_type="multipart/form-data; boundary=b",
        **declared(limit + 1),
    )
    assert response.status_code == 413
    assert not Case.objects.exists()


def test_the_api_answers_a_body_too_large_in_its_error_format(settings):
    limit = request_max_bytes("/api/v1/complaints/")
    response = Client().post(
        "/api/v1/complaints/", "{}", content_type="application/json", **declared(limit + 1)
    )
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_the_workbench_takes_an_enforcement_evidence_file_at_its_own_limit(settings):
    settings.ENFORCEMENT_EVIDENCE_MAX_BYTES = 200 * 1024 * 1024
    assert request_max_bytes("/admin/enforcement/violation/1/act/evidence/") == (
        200 * 1024 * 1024 + 1024 * 1024
    )
    assert request_max_bytes("/complaints/new/") < 200 * 1024 * 1024


def test_a_body_within_the_limit_goes_through(settings):
    response = Client().post("/complaints/new/", {"action": "search", "q": "西子"})
    assert response.status_code == 200
