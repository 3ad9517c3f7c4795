"""Fixtures for the registration-file tests: staff actors, document images, private storage."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.actors import Actor
from tests.factories import UserFactory


@pytest.fixture
def private_media(settings, tmp_path):
    """Uploaded documents go to a throw-away folder, not var/media."""
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def reviewer(db) -> Actor:
    """A compliance reviewer: may decide on files, may not reveal identity numbers."""
    return Actor.for_user(UserFactory(username="reviewer", roles=["compliance_reviewer"]))


@pytest.fixture
def second_reviewer(db) -> Actor:
    return Actor.for_user(UserFactory(username="reviewer2", roles=["compliance_reviewer"]))


@pytest.fixture
def lead(db) -> Actor:
    """A compliance lead: decides and may reveal identity numbers."""
    return Actor.for_user(UserFactory(username="lead", roles=["compliance_lead"]))


@pytest.fixture
def auditor(db) -> Actor:
    """Reads everything, changes nothing."""
    return Actor.for_user(UserFactory(username="auditor", roles=["auditor"]))


def png_bytes(size=(8, 8), colour="red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def png():
    """A small valid PNG upload, fresh each call (an upload can be read once)."""

    def make(name: str = "scan.png") -> SimpleUploadedFile:
        return SimpleUploadedFile(name, png_bytes(), content_type="image/png")

    return make
