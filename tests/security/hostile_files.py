"""A corpus of hostile uploads, built in memory when it is asked for (no sample files are kept).

Every item says what it is, what its bytes are built to do, and what each kind of upload must do
with it:

- `image`: the document-image validator (`accounts.uploads.clean_image`) behind registration
  documents, complaint evidence (web form and API) and inspection screenshots. It accepts JPEG,
  PNG and WebP only and stores a fresh encoding of the pixels, never the uploaded bytes.
- `evidence`: enforcement evidence files (`enforcement.services.evidence_files`). They are kept
  byte for byte, because the digest recorded when they are added is what proves later that the
  file handed to an authority is the one the reviewer saw; so they are checked, never rewritten,
  and they are only ever served as downloads (attachment, nosniff).
- `sanctions`: the CSV import of a regulator's sanctions list.

A verdict is ACCEPT or the error code of the refusal. For an accepted image, `absent` lists byte
strings that must not survive into what is stored (a payload appended or hidden in metadata is
only harmless because the stored file is a re-encoding).

Sizes that depend on the configured caps (a file one byte over the cap) are built from the
`Caps` passed in, so that a test can lower the caps and keep the corpus small.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from PIL import ExifTags, Image

ACCEPT = "accept"
# Refusal codes, the same names the validators give their ValidationErrors.
TOO_LARGE = "too_large"
TOO_MANY_PIXELS = "too_many_pixels"
UNSUPPORTED = "unsupported_type"
CORRUPT = "corrupt"
ANIMATED = "animated"
EMPTY = "empty"
# The sanctions import answers with a list of messages, not codes: any refusal will do there.
REFUSE = "refuse"

SCRIPT = b"<script>alert(document.domain)</script>"
CAMERA_MARKER = b"Hostile Camera Co"  # EXIF Make: finds any EXIF remnant in a stored image


@dataclass(frozen=True)
class Caps:
    image_bytes: int  # settings.UPLOAD_MAX_BYTES
    evidence_bytes: int  # settings.ENFORCEMENT_EVIDENCE_MAX_BYTES


@dataclass
class Hostile:
    key: str
    what: str
    name: str  # the uploader's file name
    content_type: str  # the content type the uploader declares
    build: Callable[[], bytes] = field(repr=False)
    image: str
    evidence: str
    sanctions: str = REFUSE
    absent: tuple[bytes, ...] = ()
    control: bool = False  # a valid file that must keep being accepted

    @cached_property
    def data(self) -> bytes:
        return self.build()

    def verdict(self, validator: str) -> str:
        return getattr(self, validator)


# --- Byte-level builders -------------------------------------------------------------------------


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def photo(size=(64, 48)) -> Image.Image:
    """A picture with some structure (a flat colour re-encodes to almost nothing)."""
    grey = Image.linear_gradient("L").resize(size)
    return Image.merge("RGB", (grey, grey.transpose(Image.Transpose.FLIP_LEFT_RIGHT), grey))


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def zlib_of_zeros(count: int, *, batch: int = 1 << 20) -> bytes:
    """A zlib stream that inflates to `count` zero bytes, built without compressing them all.

    After a full flush the deflate compressor starts from an empty history, so every further
    batch of zeros compresses to the same bytes: one batch is compressed and the result repeated.
    The Adler-32 of n zeros is (n mod 65521) << 16 | 1, so the trailer needs no pass either.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    compressor.compress(bytes(batch))
    compressor.flush(zlib.Z_FULL_FLUSH)  # the first batch; the second shows the steady state
    block = compressor.compress(bytes(batch)) + compressor.flush(zlib.Z_FULL_FLUSH)
    whole, rest = divmod(count, batch)
    tail = compressor.compress(bytes(rest)) + compressor.flush(zlib.Z_FINISH)
    adler = ((count % 65521) << 16) | 1
    return b"\x78\xda" + block * whole + tail + struct.pack(">I", adler)


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit greyscale PNG of one colour: `(width / 8 + 1) * height` bytes of zeros to
    inflate, and a byte per pixel in Pillow once decoded."""
    raw = ((width + 7) // 8 + 1) * height  # each row: the filter byte, then the packed pixels
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib_of_zeros(raw))
        + png_chunk(b"IEND", b"")
    )


def png_with_chunk(kind: bytes, body: bytes) -> bytes:
    """A small valid PNG with one more chunk before the image data."""
    data = encode(photo(), "PNG")
    first_idat = data.index(b"IDAT") - 4
    return data[:first_idat] + png_chunk(kind, body) + data[first_idat:]


def png_ztxt_bomb() -> bytes:
    """A zTXt text chunk whose compressed text inflates to 256 MB."""
    return png_with_chunk(b"zTXt", b"Comment\x00\x00" + zlib_of_zeros(256 << 20))


def png_padded_to(size: int) -> bytes:
    """A valid PNG made exactly `size` bytes long with a private ancillary chunk of zeros."""
    base = encode(photo(), "PNG")
    padding = size - len(base) - 12
    return png_with_chunk(b"prVt", bytes(max(padding, 0)))


def jpeg_with_exif(extra_icc: int = 0) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = CAMERA_MARKER.decode()
    exif[ExifTags.Base.Orientation] = 6  # rotated: the stored image must be upright
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (39.0, 54.0, 27.0)
    options = {"exif": exif.tobytes(), "quality": 85}
    if extra_icc:
        # Pillow splits a long ICC profile over as many APP2 segments as it needs.
        options["icc_profile"] = CAMERA_MARKER + bytes(extra_icc)
    return encode(photo(), "JPEG", **options)


def jpeg_huge_exif() -> bytes:
    """The largest APP1 segment JPEG allows (64 KB), filled with EXIF, plus a 4 MB ICC profile."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = CAMERA_MARKER.decode()
    exif[ExifTags.Base.ImageDescription] = "x" * 60_000
    return encode(photo(), "JPEG", exif=exif.tobytes(), icc_profile=CAMERA_MARKER + bytes(4 << 20))


def jpeg_sof_patched(width: int, height: int, *, keep: int | None) -> bytes:
    """A small JPEG whose frame header claims `width` x `height`; cut `keep` bytes into the
    entropy-coded data (None: not cut)."""
    data = bytearray(encode(photo(), "JPEG", quality=80))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    if keep is not None:
        sos = data.index(b"\xff\xda")
        sos_length = struct.unpack(">H", data[sos + 2 : sos + 4])[0]
        del data[sos + 2 + sos_length + keep :]
    return bytes(data)


def gif_bomb() -> bytes:
    """A GIF whose screen and only frame are 65,535 x 65,535 over a few bytes of LZW data."""
    screen = struct.pack("<HHBBB", 65535, 65535, 0x80, 0, 0)  # a 2-colour global table
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0)
    lzw = b"\x02\x02\x4c\x01\x00"  # code size 2: clear, one pixel, end
    return b"GIF89a" + screen + b"\x00\x00\x00\xff\xff\xff" + frame + lzw + b"\x3b"


def webp_lossless_patched(width: int, height: int) -> bytes:
    """A lossless WebP whose VP8L header claims `width` x `height` (at most 16,384 a side)."""
    data = bytearray(encode(Image.new("RGB", (16, 16), (200, 10, 10)), "WEBP", lossless=True))
    vp8l = data.index(b"VP8L") + 8  # the chunk's payload: 0x2f, then 14+14+1+3 bits
    assert data[vp8l] == 0x2F
    bits = struct.unpack("<I", data[vp8l + 1 : vp8l + 5])[0]
    bits = (bits & ~0xFFFFFFF) | (width - 1) | ((height - 1) << 14)
    data[vp8l + 1 : vp8l + 5] = struct.pack("<I", bits)
    return bytes(data)


def webp_vp8x_canvas(width: int, height: int) -> bytes:
    """An extended WebP whose VP8X canvas is `width` x `height` (24 bits a side) around a 16 x 16
    picture."""
    picture = encode(Image.new("RGB", (16, 16), (10, 200, 10)), "WEBP", lossless=True)
    body = picture[12:]  # the VP8L chunk
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00"
    vp8x += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    payload = b"WEBP" + vp8x + body
    return b"RIFF" + struct.pack("<I", len(payload)) + payload


def apng() -> bytes:
    frames = [Image.new("RGB", (32, 32), colour) for colour in ("red", "blue")]
    return encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100)


def zip_bomb(members: int = 4, each: int = 256 << 20) -> bytes:
    """A ZIP of `members` entries of `each` zero bytes: about 1 MB on disk, 1 GB inflated."""
    raw = zlib_of_zeros(each)[2:-4]  # the raw deflate stream inside the zlib wrapper
    crc = 0
    zero = bytes(1 << 20)
    for _ in range(each >> 20):
        crc = zlib.crc32(zero, crc)
    local, central, offset = b"", b"", 0
    for number in range(members):
        name = f"{number}.txt".encode()
        fields = struct.pack("<HHHHHIII", 20, 0, 8, 0, 0, crc, len(raw), each)
        header = b"PK\x03\x04" + fields + struct.pack("<HH", len(name), 0) + name
        central += (
            b"PK\x01\x02"
            + struct.pack("<H", 20)
            + fields
            + struct.pack("<HHHHHII", len(name), 0, 0, 0, 0, 0, offset)
            + name
        )
        local += header + raw
        offset += len(header) + len(raw)
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, members, members, len(central), offset, 0)
    return local + central + end


def small_zip(names: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in names.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def pdf(objects: list[bytes], *, root: int = 1) -> bytes:
    """A PDF with a correct cross-reference table; `objects[i]` is object i + 1's body."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        root,
        xref,
    )
    return bytes(out)


def pdf_page(content: bytes, *, catalog_extra: bytes = b"", filters: bytes = b"") -> bytes:
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b">>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
            b"<< /Length %d %s>>\nstream\n" % (len(content), filters) + content + b"\nendstream",
        ]
    )


def pdf_plain() -> bytes:
    return pdf_page(b"BT /F1 12 Tf 20 100 Td (live-room screenshot export) Tj ET")


def pdf_with_javascript() -> bytes:
    return pdf_page(
        b"BT ET",
        catalog_extra=b"/OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >> "
        b"/AA << /WC << /S /Launch /F (cmd.exe) >> >> ",
    )


def pdf_deflate_bomb() -> bytes:
    """A page whose content stream is 1 GB of zeros deflated to about 1 MB."""
    return pdf_page(zlib_of_zeros(1 << 30), filters=b"/Filter /FlateDecode ")


def mp4_box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def mp4() -> bytes:
    """A minimal ISO base media file: ftyp, moov with its mvhd, and an mdat."""
    ftyp = mp4_box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    mvhd = mp4_box(b"mvhd", bytes(4) + struct.pack(">IIII", 0, 0, 1000, 0) + bytes(80))
    return ftyp + mp4_box(b"moov", mvhd) + mp4_box(b"mdat", bytes(256))


def cut(data: bytes, fraction: float = 0.6) -> bytes:
    return data[: int(len(data) * fraction)]


def elf() -> bytes:
    header = b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HHI", 2, 0x3E, 1)
    return header + bytes(64) + b"\x90" * 200


def pe() -> bytes:
    dos = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(46)
    return dos + b"PE\x00\x00" + bytes(200)


def svg_script() -> bytes:
    return (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
        + SCRIPT.replace(b"<script>", b"<script type='text/javascript'>")
        + b'<rect width="100" height="100"/></svg>'
    )


def svg_billion_laughs() -> bytes:
    entities = b'<!ENTITY lol "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (n, (b"&lol%s;" % (str(n - 1).encode() if n > 1 else b"")) * 10)
        for n in range(1, 10)
    )
    return (
        b'<?xml version="1.0"?><!DOCTYPE svg [' + entities + b"]>"
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&lol9;</text></svg>'
    )


def svg_xxe() -> bytes:
    return (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&xxe;</text></svg>'
    )


def html_page() -> bytes:
    return b"<!DOCTYPE html><html><body>" + SCRIPT + b"</body></html>"


def sanctions_csv(rows: int = 1) -> bytes:
    from accounts.demo import make_resident_id

    lines = ["kind,name,identifier,authority,reference,decided_on,ends_on"]
    for number in range(rows):
        identifier = make_resident_id("330106", date(1990, 1, 1), 10 + number, female=False)
        lines.append(
            f"serious_dishonesty,某商户{number},{identifier},杭州市市场监督管理局,"
            f"杭市监罚〔2026〕{100 + number}号,2026-01-05,"
        )
    return ("\n".join(lines) + "\n").encode()


# --- The corpus ----------------------------------------------------------------------------------


def corpus(caps: Caps) -> list[Hostile]:
    # fmt: off
    items = [
        # Valid controls: what the product must keep accepting.
        Hostile("png-valid", "a small real PNG", "shot.png", "image/png",
                lambda: encode(photo(), "PNG"), ACCEPT, ACCEPT, control=True),
        Hostile("jpeg-exif-gps", "a phone JPEG with EXIF: camera, GPS position, rotated 90°",
                "IMG_0001.jpg", "image/jpeg", jpeg_with_exif, ACCEPT, ACCEPT,
                absent=(CAMERA_MARKER,), control=True),
        Hostile("webp-valid", "a small real lossy WebP", "shot.webp", "image/webp",
                lambda: encode(photo(), "WEBP", quality=80), ACCEPT, ACCEPT, control=True),
        Hostile("pdf-valid", "a one-page PDF with a correct cross-reference table",
                "export.pdf", "application/pdf", pdf_plain, UNSUPPORTED, ACCEPT, control=True),
        Hostile("mp4-valid", "a minimal MP4 (ftyp, moov/mvhd, mdat)", "replay.mp4", "video/mp4",
                mp4, UNSUPPORTED, ACCEPT, control=True),
        Hostile("text-chat-log", "a UTF-8 chat log in Chinese", "chat.txt", "text/plain",
                lambda: "买家：是正品吗？\n主播：加我微信私下转账更便宜。\n".encode() * 50,
                UNSUPPORTED, ACCEPT, control=True),
        Hostile("csv-sanctions", "a valid sanctions list of two entries", "list.csv",
                "text/csv", lambda: sanctions_csv(2), UNSUPPORTED, ACCEPT, ACCEPT, control=True),
        # Odd but valid: accepted on purpose.
        Hostile("jpeg-cmyk", "a CMYK JPEG (print workflows, some scanners): stored as RGB",
                "scan.jpg", "image/jpeg",
                lambda: encode(photo().convert("CMYK"), "JPEG"), ACCEPT, ACCEPT),
        Hostile("png-16bit-grey", "a 16-bit greyscale PNG (medical and document scanners)",
                "scan.png", "image/png",
                lambda: encode(Image.new("I;16", (40, 30), 40_000), "PNG"), ACCEPT, ACCEPT),
        Hostile("png-16bit-rgba", "a 64-bit RGBA PNG (16 bits a channel)", "scan.png",
                "image/png",
                lambda: png_16bit_rgba(), ACCEPT, ACCEPT),
        Hostile("jpeg-huge-metadata",
                "a JPEG with a 60 KB EXIF description and a 4 MB ICC profile over 64 APP2 "
                "segments: metadata is dropped, not decoded", "scan.jpg", "image/jpeg",
                jpeg_huge_exif, ACCEPT, ACCEPT, absent=(CAMERA_MARKER,)),
        Hostile("png-36mp-one-colour",
                "a 6,000 x 6,000 one-colour PNG of a few KB: 36 million pixels, under the "
                "40-million cap, so accepted; the bound on what a legal image may cost",
                "big.png", "image/png", lambda: png_bomb(6000, 6000), ACCEPT, ACCEPT),
        # Decompression bombs.
        Hostile("png-bomb-50k", "a 50,000 x 50,000 PNG (2.5 billion pixels) of about 300 KB",
                "bomb.png", "image/png", lambda: png_bomb(50_000, 50_000),
                TOO_MANY_PIXELS, TOO_MANY_PIXELS),
        Hostile("png-bomb-9k", "a 9,000 x 9,000 PNG (81 million pixels): over the product's "
                "cap, under the level at which Pillow itself warns", "bomb.png", "image/png",
                lambda: png_bomb(9000, 9000), TOO_MANY_PIXELS, TOO_MANY_PIXELS),
        Hostile("png-strip", "a 40,000 x 1 PNG: few pixels, but no document is that long",
                "strip.png", "image/png", lambda: png_bomb(40_000, 1),
                TOO_MANY_PIXELS, TOO_MANY_PIXELS),
        Hostile("png-ztxt-bomb", "a small PNG with a zTXt chunk that inflates to 256 MB",
                "scan.png", "image/png", png_ztxt_bomb, CORRUPT, CORRUPT),
        Hostile("gif-bomb", "a 65,535 x 65,535 GIF of 40 bytes", "bomb.gif", "image/gif",
                gif_bomb, UNSUPPORTED, UNSUPPORTED),
        Hostile("webp-bomb-vp8l", "a lossless WebP whose header claims 16,384 x 16,384",
                "bomb.webp", "image/webp", lambda: webp_lossless_patched(16_384, 16_384),
                TOO_MANY_PIXELS, TOO_MANY_PIXELS),
        Hostile("webp-bomb-canvas", "an extended WebP with a 1,000,000 x 1,000,000 canvas "
                "around a 16 x 16 picture", "bomb.webp", "image/webp",
                lambda: webp_vp8x_canvas(1_000_000, 1_000_000),
                TOO_MANY_PIXELS, TOO_MANY_PIXELS),
        Hostile("jpeg-huge-truncated", "a JPEG whose frame header claims 65,000 x 65,000, cut "
                "10 bytes into its scan data", "scan.jpg", "image/jpeg",
                lambda: jpeg_sof_patched(65_000, 65_000, keep=10),
                TOO_MANY_PIXELS, TOO_MANY_PIXELS),
        Hostile("pdf-deflate-bomb", "a PDF page whose content stream inflates to 1 GB",
                "export.pdf", "application/pdf", pdf_deflate_bomb, UNSUPPORTED, ACCEPT),
        Hostile("zip-bomb-as-pdf", "a ZIP of 1 GB of zeros in about 1 MB, named .pdf",
                "export.pdf", "application/pdf", zip_bomb, UNSUPPORTED, UNSUPPORTED),
        Hostile("zip-bomb-as-jpg", "the same ZIP bomb, named .jpg", "scan.jpg", "image/jpeg",
                zip_bomb, UNSUPPORTED, UNSUPPORTED),
        # Polyglots.
        Hostile("jpeg-html-polyglot", "a valid JPEG with a script in a comment segment and an "
                "HTML page after its end marker", "scan.jpg", "image/jpeg",
                lambda: encode(photo(), "JPEG", comment=SCRIPT) + html_page(),
                ACCEPT, ACCEPT, absent=(SCRIPT,)),
        Hostile("jpeg-zip-polyglot", "a valid JPEG with a ZIP (an HTML page) appended",
                "scan.jpg", "image/jpeg",
                lambda: encode(photo(), "JPEG") + small_zip({"index.html": html_page()}),
                ACCEPT, ACCEPT, absent=(b"PK\x03\x04", b"index.html")),
        Hostile("png-script-in-text", "a valid PNG whose tEXt chunk holds a script",
                "shot.png", "image/png",
                lambda: png_with_chunk(b"tEXt", b"Comment\x00" + SCRIPT),
                ACCEPT, ACCEPT, absent=(SCRIPT,)),
        Hostile("gifar", "a GIF with a Java archive appended (GIFAR)", "avatar.gif",
                "image/gif",
                lambda: encode(Image.new("P", (8, 8)), "GIF")
                + small_zip({"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n"}),
                UNSUPPORTED, UNSUPPORTED),
        Hostile("pdf-html-polyglot", "a PDF header followed by an HTML page, then the PDF",
                "export.pdf", "application/pdf",
                lambda: b"%PDF-1.7\n" + html_page() + pdf_plain()[9:], UNSUPPORTED, ACCEPT),
        Hostile("html-pdf-polyglot", "an HTML page with a PDF after it", "export.pdf",
                "application/pdf", lambda: html_page() + pdf_plain(), UNSUPPORTED, UNSUPPORTED),
        # Truncated files.
        Hostile("png-truncated", "a PNG cut in its image data", "shot.png", "image/png",
                lambda: cut(encode(photo((256, 256)), "PNG")), CORRUPT, CORRUPT),
        Hostile("jpeg-truncated", "a JPEG cut in its scan data", "scan.jpg", "image/jpeg",
                lambda: cut(encode(photo((256, 256)), "JPEG")), CORRUPT, CORRUPT),
        Hostile("jpeg-truncated-header", "a JPEG cut before its frame header", "scan.jpg",
                "image/jpeg", lambda: encode(photo(), "JPEG")[:20], UNSUPPORTED, CORRUPT),
        Hostile("webp-truncated", "a WebP cut in half", "shot.webp", "image/webp",
                lambda: cut(encode(photo((256, 256)), "WEBP"), 0.5), CORRUPT, CORRUPT),
        Hostile("pdf-truncated", "a PDF cut before its cross-reference table", "export.pdf",
                "application/pdf", lambda: cut(pdf_plain(), 0.5), UNSUPPORTED, CORRUPT),
        Hostile("mp4-truncated", "an MP4 cut inside its media data", "replay.mp4", "video/mp4",
                lambda: mp4()[:-100], UNSUPPORTED, CORRUPT),
        # Active content and disguised types.
        Hostile("pdf-javascript", "a PDF with an OpenAction that runs JavaScript and a Launch "
                "action", "export.pdf", "application/pdf", pdf_with_javascript,
                UNSUPPORTED, ACCEPT),
        Hostile("svg-script", "an SVG with a script element", "logo.svg", "image/svg+xml",
                svg_script, UNSUPPORTED, UNSUPPORTED),
        Hostile("svg-billion-laughs", "an SVG with nested XML entities (a billion laughs)",
                "logo.svg", "image/svg+xml", svg_billion_laughs, UNSUPPORTED, UNSUPPORTED),
        Hostile("svg-xxe", "an SVG with an external entity reading /etc/passwd", "logo.svg",
                "image/svg+xml", svg_xxe, UNSUPPORTED, UNSUPPORTED),
        Hostile("html-as-jpg", "an HTML page named .jpg and declared image/jpeg", "scan.jpg",
                "image/jpeg", html_page, UNSUPPORTED, UNSUPPORTED),
        Hostile("html-bom-as-txt", "an HTML page behind a byte-order mark, named .txt",
                "chat.txt", "text/plain", lambda: "\ufeff \n".encode() + html_page(),
                UNSUPPORTED, UNSUPPORTED),
        Hostile("html-utf16", "an HTML page in UTF-16", "chat.txt", "text/plain",
                lambda: html_page().decode().encode("utf-16"), UNSUPPORTED, UNSUPPORTED),
        Hostile("text-then-elf", "a chat log whose second kilobyte starts an ELF executable",
                "chat.txt", "text/plain",
                lambda: "主播：下单走平台。\n".encode() * 80 + elf(), UNSUPPORTED, UNSUPPORTED),
        Hostile("elf-as-png", "an ELF executable named .png", "shot.png", "image/png",
                elf, UNSUPPORTED, UNSUPPORTED),
        Hostile("pe-as-png", "a Windows PE executable named .png", "shot.png", "image/png",
                pe, UNSUPPORTED, UNSUPPORTED),
        Hostile("apng", "an animated PNG of two frames", "anim.png", "image/png", apng,
                ANIMATED, ACCEPT),
        # Names.
        Hostile("name-nul", "a valid PNG whose file name holds a NUL byte", "shot\x00.php.png",
                "image/png", lambda: encode(photo(), "PNG"), ACCEPT, ACCEPT),
        Hostile("name-traversal", "a valid JPEG named ../../etc/passwd.jpg",
                "../../etc/passwd.jpg", "image/jpeg", lambda: encode(photo(), "JPEG"),
                ACCEPT, ACCEPT),
        Hostile("name-backslash-traversal", "a valid JPEG named ..\\..\\windows\\win.jpg",
                "..\\..\\windows\\win.jpg", "image/jpeg", lambda: encode(photo(), "JPEG"),
                ACCEPT, ACCEPT),
        # Sizes.
        Hostile("empty", "an empty file", "shot.png", "image/png", lambda: b"",
                CORRUPT, EMPTY),
        Hostile("image-cap-plus-one", "a valid PNG one byte over the image cap", "shot.png",
                "image/png", lambda: png_padded_to(caps.image_bytes + 1),
                TOO_LARGE, ACCEPT if caps.image_bytes < caps.evidence_bytes else TOO_LARGE),
        Hostile("evidence-cap-plus-one", "a chat log one byte over the evidence cap",
                "chat.txt", "text/plain",
                lambda: (b"chat " * (caps.evidence_bytes // 5 + 1))[: caps.evidence_bytes + 1],
                TOO_LARGE, TOO_LARGE),
        # The sanctions import's own traps; as evidence they are text.
        Hostile("csv-huge-field", "a sanctions CSV with an unterminated quote running over "
                "200 KB", "list.csv", "text/csv",
                lambda: sanctions_csv(1) + b'serious_dishonesty,"' + b"x" * 200_000 + b"\n",
                UNSUPPORTED, ACCEPT),
        Hostile("csv-nul", "a sanctions CSV with a NUL byte in a name", "list.csv", "text/csv",
                lambda: sanctions_csv(1).replace("某商户0".encode(), "某\x00商户".encode()),
                UNSUPPORTED, UNSUPPORTED),
    ]
    # fmt: on
    return items


def png_16bit_rgba() -> bytes:
    """Pillow cannot write 16 bits a channel in colour, so the PNG is put together by hand."""
    width, height = 8, 4
    row = b"\x00" + struct.pack(">HHHH", 65535, 1000, 30000, 50000) * width
    header = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(row * height))
        + png_chunk(b"IEND", b"")
    )
