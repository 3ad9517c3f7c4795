"""Evidence files: checked, never rewritten, and stored byte for byte.

What a reviewer exports from the platform -- screenshots, replay clips, chat logs, documents --
is kept exactly as received: the SHA-256 recorded when it is added is what later proves that the
file in a referral dossier is the one the reviewer saw, so unlike document images
(accounts.uploads) nothing is re-encoded. Instead every file is checked before it is stored:

- **Type by content.** The first bytes decide, never the name or the declared content type, and
  only PNG, JPEG, WebP, PDF, MP4 and UTF-8 text without markup are taken.
- **Bounded reads.** The upload is streamed once, under the byte cap, into a spooled temporary
  file while it is hashed; what is checked and stored is that copy, so the digest is of exactly
  the stored bytes and no more than a chunk is ever held in memory.
- **Decompression bombs.** An image's dimensions are read from its header and held to the same
  caps as document images before anything else; a bomb handed on in a dossier would stall the
  reader at the authority instead of ours.
- **Completeness.** A cut-off export is refused rather than kept as evidence of nothing: PNG chunk
  checksums through IEND, a JPEG's scan data decoded at an eighth of its size (a 64th of the
  memory), the WebP container checked by its decoder, a PDF's end-of-file marker, an MP4's
  top-level boxes adding up to the file, and text that is UTF-8 to its last byte.

Kept on purpose: a JPEG or PNG with data after its end, a PDF with scripts, a PDF whose streams
inflate far -- the product never renders or inflates evidence and serves it only as a download
(attachment, nosniff), and the file as received may be the very thing the evidence is about.
"""

from __future__ import annotations

import codecs
import hashlib
import mimetypes
import struct
import tempfile
import unicodedata
import uuid
import warnings
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from PIL import Image

from accounts import uploads

EVIDENCE_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"%PDF-": "application/pdf",
    b"RIFF": "image/webp",  # checked further below: RIFF....WEBP
}
MP4_BRAND = b"ftyp"
SNIFF_BYTES = 1024
_CHUNK = 64 * 1024
# Small files never touch the disk; larger ones (up to the cap) are spooled to a temporary file.
_SPOOL_IN_MEMORY = 1024 * 1024
_PILLOW_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
# A PDF ends with %%EOF; readers accept it anywhere in the last kilobyte.
_PDF_TAIL = 1024
# A fragmented MP4 (a replay recorded live) has a moof and an mdat box per second or two; a
# million boxes is no video, and walking them one by one would be the slow part.
_MAX_MP4_BOXES = 100_000


def _sniff(head: bytes, *, whole: bool) -> str | None:
    """The content type of a file by its first bytes (`whole`: they are the entire file)."""
    for signature, content_type in EVIDENCE_SIGNATURES.items():
        if head.startswith(signature):
            if content_type == "image/webp" and head[8:12] != b"WEBP":
                return None
            return content_type
    if head[4:8] == MP4_BRAND:
        return "video/mp4"
    try:
        # A cut-off head may end inside a character (Chinese takes three bytes in UTF-8): the
        # incremental decoder holds those bytes back instead of refusing the file.
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=whole)
    except UnicodeDecodeError:
        return None
    # Plain text (chat logs, transcripts) -- but never binary that happens to decode (a NUL is
    # in nearly every binary format's first kilobyte and in no text), nor markup a browser would
    # render.
    if "\x00" in text or text.lstrip("\ufeff").lstrip()[:1] == "<":
        return None
    return "text/plain"


def store_evidence_file(upload) -> tuple[str, str, str, int]:
    """Check and store an evidence file; returns (stored name, content type, digest, size).

    Raises ValidationError({"file": ...}) with the code too_large, empty, unsupported_type,
    too_many_pixels or corrupt when the file is refused; nothing is stored then.
    """
    limit = settings.ENFORCEMENT_EVIDENCE_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise _too_large(limit)
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
        digest, total, head = _spool(upload, spool, limit)
        if total == 0:
            raise _refusal(_("The file is empty."), "empty")
        content_type = _sniff(head[:SNIFF_BYTES], whole=total <= SNIFF_BYTES)
        if content_type is None:
            raise _unsupported()
        _check_complete(spool, content_type, total)
        spool.seek(0)
        extension = mimetypes.guess_extension(content_type) or ".bin"
        name = default_storage.save(f"evidence/{uuid.uuid4().hex}{extension}", File(spool))
    return name, content_type, digest, total


def uploaded_name(upload, *, limit: int = 200) -> str:
    """The uploader's file name as a label only: its last path component, without control
    characters (a NUL cannot be stored in PostgreSQL text; the others hide what a name says).

    Over HTTP Django's multipart parser has already cleaned it; a service called directly (an
    import, a task) gets no such help.
    """
    name = str(getattr(upload, "name", "") or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if unicodedata.category(char)[0] != "C")
    return name.strip()[:limit]


def _spool(upload, spool: IO[bytes], limit: int) -> tuple[str, int, bytes]:
    # A form may already have read the file; start from the beginning when we can.
    seekable = getattr(upload, "seekable", None)
    if hasattr(upload, "seek") and (seekable is None or seekable()):
        upload.seek(0)
    digest = hashlib.sha256()
    total = 0
    head = b""
    while True:
        # One byte past the cap is enough to know a file that under-reported its size is over.
        chunk = upload.read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        digest.update(chunk)
        spool.write(chunk)
    return digest.hexdigest(), total, head


# --- Completeness, by type -----------------------------------------------------------------------


def _check_complete(spool: IO[bytes], content_type: str, total: int) -> None:
    spool.seek(0)
    if content_type in _PILLOW_FORMATS:
        _check_image(spool, _PILLOW_FORMATS[content_type])
    elif content_type == "application/pdf":
        spool.seek(max(total - _PDF_TAIL, 0))
        if b"%%EOF" not in spool.read(_PDF_TAIL):
            raise _corrupt()
    elif content_type == "video/mp4":
        _check_mp4(spool, total)
    else:
        _check_text(spool)


def _check_image(spool: IO[bytes], fmt: str) -> None:
    with warnings.catch_warnings():
        # Pillow only warns between about 89 and 179 million pixels; here that is a refusal.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            # Opening reads the header only (a WebP is parsed by libwebp's demuxer, which needs
            # the whole container to be there); no pixel data is decoded yet.
            image = Image.open(spool, formats=[fmt])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ValidationError({"file": uploads.too_many_pixels()}) from exc
        except Exception as exc:
            raise _corrupt() from exc
        try:
            uploads.check_dimensions(image)
        except ValidationError as exc:
            raise ValidationError({"file": exc}) from None
        try:
            if fmt == "PNG":
                # Reads every chunk to IEND and checks its CRC; the image data is not inflated.
                image.verify()
            elif fmt == "JPEG":
                # libjpeg scales by 1/8 while decoding, so all the scan data is read (a cut-off
                # file fails) into a picture of a 64th of the size.
                width, height = image.size
                image.draft(None, (max(width // 8, 1), max(height // 8, 1)))
                image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ValidationError({"file": uploads.too_many_pixels()}) from exc
        except Exception as exc:
            # Pillow raises OSError, SyntaxError, struct.error... on broken data.
            raise _corrupt() from exc


def _check_mp4(spool: IO[bytes], total: int) -> None:
    """ISO base media files are a sequence of boxes, each starting with its own size."""
    position = 0
    for _box in range(_MAX_MP4_BOXES):
        if position == total:
            return
        spool.seek(position)
        header = spool.read(16)
        if len(header) < 8:
            raise _corrupt()
        size = struct.unpack(">I", header[:4])[0]
        if size == 0:  # the last box runs to the end of the file
            return
        if size == 1:  # a 64-bit size follows the type
            if len(header) < 16:
                raise _corrupt()
            size = struct.unpack(">Q", header[8:16])[0]
            if size < 16:
                raise _corrupt()
        elif size < 8:
            raise _corrupt()
        position += size
        if position > total:
            raise _corrupt()
    raise _corrupt()


def _check_text(spool: IO[bytes]) -> None:
    """The first kilobyte decided it is text; the rest must be too (no binary behind a line of
    chat)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := spool.read(_CHUNK):
            if b"\x00" in chunk:
                raise _unsupported()
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise _unsupported() from exc


# --- Refusals ------------------------------------------------------------------------------------


def _refusal(message: str, code: str) -> ValidationError:
    return ValidationError({"file": ValidationError(message, code=code)})


def _too_large(limit: int) -> ValidationError:
    return _refusal(
        _("The file is larger than %(mb)s MB.") % {"mb": limit // (1024 * 1024)}, "too_large"
    )


def _unsupported() -> ValidationError:
    return _refusal(
        _("Upload a PNG, JPEG or WebP image, a PDF, an MP4 video or a text file."),
        "unsupported_type",
    )


def _corrupt() -> ValidationError:
    return _refusal(_("The file is damaged or incomplete; export it again."), "corrupt")
