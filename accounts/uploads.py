"""Validation and private storage of uploaded document images.

Business licences, ID scans, guardian consent forms and qualification certificates arrive as
images from people we do not control, so every upload goes through `clean_image` before it is
kept, and `store_image` is the only way it is written:

- **Decompression bombs.** A PNG of 30000 × 30000 pixels in one colour compresses to a few
  kilobytes and decodes to gigabytes. The byte cap alone cannot catch it, so the pixel count is
  checked from the header, before any pixel data is decoded, and Pillow's own bomb guard is turned
  from a warning into a refusal.
- **Polyglots and disguised files.** A file can be a valid image and an HTML page, a ZIP or a
  script at once, and its name and declared content type are whatever the uploader says. Only
  JPEG, PNG and WebP are even tried as decoders (no SVG, GIF, TIFF, BMP, PDF), and what is stored
  is never the uploaded bytes but a fresh encoding of the decoded pixels, so anything appended or
  hidden in the file is gone.
- **Metadata leaks.** Phone photos carry EXIF with the GPS position where the picture was taken,
  often the home of the person on the ID card, plus camera serials, XMP and text chunks. The
  orientation tag is applied to the pixels and then all metadata is dropped.
- **Guessable names.** Stored files get a random name under a private prefix; the uploader's
  filename (which may hold a name or ID number, or `../`) is never used.
"""

from __future__ import annotations

import hashlib
import io
import re
import uuid
import warnings
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
# No scan or photo of a document needs a longer side; a 1 × 40,000,000 strip passes the pixel cap
# but is no document either.
MAX_SIDE = 20_000

_READ_CHUNK = 64 * 1024
# Folders are chosen by our code ("licences", "guardian-consent/2025"), never by the uploader; the
# pattern keeps a mistake from turning into a path outside private/.
_FOLDER_RE = re.compile(r"[a-z0-9_-]+(?:/[a-z0-9_-]+)*")


@dataclass(frozen=True)
class _OutputFormat:
    extension: str
    content_type: str
    save_options: dict[str, Any]


# The allow-list: Pillow is only asked to try these decoders, and each is re-encoded as itself.
_OUTPUT_FORMATS: dict[str, _OutputFormat] = {
    "JPEG": _OutputFormat("jpg", "image/jpeg", {"quality": 90}),
    "PNG": _OutputFormat("png", "image/png", {}),
    "WEBP": _OutputFormat("webp", "image/webp", {"quality": 90}),
}
# Modes the JPEG encoder takes as they are; anything else (CMYK, P, LA, RGBA) becomes RGB.
_JPEG_MODES = frozenset({"RGB", "L"})


class Upload(Protocol):
    """What `clean_image` needs: a Django `UploadedFile` or any file-like object like it."""

    size: int | None
    name: str | None

    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True)
class CleanImage:
    content: bytes  # the re-encoded image, free of metadata and of anything the upload carried
    format: str  # "JPEG", "PNG" or "WEBP"
    extension: str  # "jpg", "png" or "webp", without the dot
    width: int
    height: int
    sha256: str  # hex digest of `content`
    content_type: str


def clean_image(upload: Upload) -> CleanImage:
    """Decode an uploaded document image and return a fresh, metadata-free encoding of it.

    `upload` is a Django `UploadedFile` or any file-like object with `.read()`, `.size` and
    `.name`. Raises `ValidationError` (code too_large, unsupported_type, too_many_pixels, corrupt
    or animated) when the upload is refused.
    """
    data = _read_capped(upload, max_bytes=_max_bytes())
    image = _decode(data)
    output = _OUTPUT_FORMATS[image.format]
    pixels = _strip(image)
    content = _encode(pixels, image.format, output)
    return CleanImage(
        content=content,
        format=image.format,
        extension=output.extension,
        # After the EXIF rotation: a portrait photo taken with the phone turned is portrait here.
        width=pixels.width,
        height=pixels.height,
        sha256=hashlib.sha256(content).hexdigest(),
        content_type=output.content_type,
    )


def store_image(image: CleanImage, *, folder: str) -> str:
    """Save a cleaned image under a random name in private/<folder>/ and return its storage name."""
    if not _FOLDER_RE.fullmatch(folder):
        raise ValueError(f"invalid upload folder {folder!r}")
    # MEDIA_ROOT is never served by URL: no MEDIA_URL route, no web-server alias, and there must
    # never be one. These are identity documents, streamed only by views that check the reader's
    # permission; the random name is a second line of defence, not the first.
    today = timezone.localdate()
    name = f"private/{folder}/{today:%Y}/{today:%m}/{uuid.uuid4().hex}.{image.extension}"
    return default_storage.save(name, ContentFile(image.content))


# --- Steps -----------------------------------------------------------------------------------


def _max_bytes() -> int:
    return getattr(settings, "UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES)


def _max_pixels() -> int:
    return getattr(settings, "UPLOAD_MAX_PIXELS", DEFAULT_MAX_PIXELS)


def _read_capped(upload: Upload, *, max_bytes: int) -> bytes:
    # The declared size is cheap to check, but a file-like object may under-report it, so the
    # read itself stops one byte past the cap as well.
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise _too_large(max_bytes)
    # A form field may already have read the file; start from the beginning when we can.
    seekable = getattr(upload, "seekable", None)
    if hasattr(upload, "seek") and (seekable is None or seekable()):
        upload.seek(0)
    chunks: list[bytes] = []
    total = 0
    while total <= max_bytes:
        chunk = upload.read(min(_READ_CHUNK, max_bytes + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > max_bytes:
        raise _too_large(max_bytes)
    if total == 0:
        raise ValidationError(_("The file is empty."), code="corrupt")
    return b"".join(chunks)


def _decode(data: bytes) -> Image.Image:
    # Pillow only warns between about 89 and 179 million pixels; as an error it refuses. The
    # filter is process-wide while it is held, which is harmless (it only escalates this one
    # warning), and the explicit pixel cap in check_dimensions is the guard that is always there.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            # Opening reads the header only; no pixel data is decoded yet.
            image = Image.open(io.BytesIO(data), formats=list(_OUTPUT_FORMATS))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise too_many_pixels() from exc
        except UnidentifiedImageError as exc:
            raise _unsupported_type() from exc
        except Exception as exc:
            # A recognised header that is broken in a way Pillow's plugins do not anticipate.
            raise _corrupt() from exc

        check_dimensions(image)
        # Checked before load(): an animation would be decoded frame by frame only to be refused.
        # A multi-picture JPEG (MPO, stereo cameras) also counts as more than one frame.
        if getattr(image, "n_frames", 1) > 1:
            raise ValidationError(
                _("Animated images are not accepted; upload a single still image."),
                code="animated",
            )
        if image.format not in _OUTPUT_FORMATS:
            raise _unsupported_type()

        try:
            # Never with ImageFile.LOAD_TRUNCATED_IMAGES: a half-uploaded scan is refused, not
            # padded with grey.
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise too_many_pixels() from exc
        except Exception as exc:
            # Pillow's decoders raise OSError, ValueError, EOFError, SyntaxError, struct.error...
            # on hostile input; whichever it is, the file cannot be decoded.
            raise _corrupt() from exc
    return image


def check_dimensions(image: Image.Image) -> None:
    """Refuse an opened image whose header dimensions are over the caps (no pixels decoded).

    Also used for enforcement evidence, which is checked but stored as received.
    """
    width, height = image.size
    if width <= 0 or height <= 0:
        raise _corrupt()
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ValidationError(
            _("The image is %(width)s × %(height)s pixels; no side may be longer than %(limit)s."),
            code="too_many_pixels",
            params={
                "width": width,
                "height": height,
                "limit": number_format(MAX_SIDE, force_grouping=True),
            },
        )
    if width * height > _max_pixels():
        raise too_many_pixels()


def _strip(image: Image.Image) -> Image.Image:
    """The decoded picture, upright, with no metadata left to write."""
    try:
        # In place: a picture without an orientation tag (most of them) is not copied, which
        # would double the memory the largest accepted image costs.
        ImageOps.exif_transpose(image, in_place=True)
    except Exception as exc:
        raise _corrupt() from exc
    pixels = image
    # Pillow's encoders fall back to `info` for some metadata (the PNG encoder writes the ICC
    # profile from it, the JPEG encoder the comment), so everything but transparency, which is
    # part of the picture, is dropped here. EXIF, XMP and text chunks are only written when passed
    # to save(), and nothing is.
    pixels.info = {key: value for key, value in pixels.info.items() if key == "transparency"}
    return pixels


def _encode(pixels: Image.Image, fmt: str, output: _OutputFormat) -> bytes:
    if fmt == "JPEG" and pixels.mode not in _JPEG_MODES:
        pixels = pixels.convert("RGB")
    buffer = io.BytesIO()
    pixels.save(buffer, format=fmt, **output.save_options)
    return buffer.getvalue()


# --- Refusals --------------------------------------------------------------------------------


def _too_large(max_bytes: int) -> ValidationError:
    return ValidationError(
        _("The file is larger than %(limit)s."),
        code="too_large",
        params={"limit": filesizeformat(max_bytes)},
    )


def too_many_pixels() -> ValidationError:
    return ValidationError(
        _("The image has more than %(limit)s pixels; upload a smaller scan or photo."),
        code="too_many_pixels",
        params={"limit": number_format(_max_pixels(), force_grouping=True)},
    )


def _unsupported_type() -> ValidationError:
    return ValidationError(
        _("The file is not a JPEG, PNG or WebP image."),
        code="unsupported_type",
    )


def _corrupt() -> ValidationError:
    return ValidationError(
        _("The image is damaged or incomplete and cannot be read."),
        code="corrupt",
    )
