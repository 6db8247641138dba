import io
import struct
import zlib

import pytest
from PIL import Image
from pypdf import PdfWriter

from einspection.errors import InvalidCommand, NotFound
from services.hazard import blobs


def image(kind, size=(40, 30)):
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, kind)
    return out.getvalue()


def pdf(pages=1, password=None):
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_header_only(width, height):
    """A PNG whose header claims `width` x `height` and whose pixels are a few
    zero bytes: what a decompression bomb looks like before it is decoded."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                                0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


PNG, JPEG, PDF = image("PNG"), image("JPEG"), pdf()


@pytest.fixture
def store(tmp_path):
    return blobs.FileBlobStore(str(tmp_path / "blobs"), limit=100_000, pixel_limit=10_000)


@pytest.mark.parametrize("data,content_type", [(PNG, "image/png"), (JPEG, "image/jpeg"),
                                               (PDF, "application/pdf")])
def test_put_get_round_trip_by_content_hash(store, data, content_type):
    ref = store.put(data, content_type)
    assert ref == blobs.ref_of(data) and ref.startswith("sha256:") and len(ref) == 71
    assert store.exists(ref)
    assert store.get(ref) == (data, content_type)
    assert store.put(data, content_type + "; charset=binary") == ref   # stored once


@pytest.mark.parametrize("data,content_type,field", [
    (b"", "image/png", "_body"),
    (PNG + b"x" * 100_000, "image/png", "_body"),                # over the limit
    (b"GIF89a" + b"\x00" * 10, "image/gif", "content_type"),     # not accepted
    (b"<html>not a png</html>", "image/png", "content_type"),     # the header lies
    (PDF, "image/jpeg", "content_type"),
    (b"\xff\xd8\xff\xe0<html><script>alert(1)</script></html>", "image/jpeg", "_body"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png", "_body"),   # magic, then nothing
    (JPEG[:len(JPEG) // 2], "image/jpeg", "_body"),               # cut short
    (PNG[:len(PNG) // 2], "image/png", "_body"),
    (b"%PDF-1.7\n" + b"%" * 40, "application/pdf", "_body"),      # magic, no document
    (PDF[:len(PDF) // 2], "application/pdf", "_body"),
    (pdf(0), "application/pdf", "_body"),                         # no page
    (pdf(password="secret"), "application/pdf", "_body"),         # cannot be read
    (image("PNG", (101, 100)), "image/png", "_body"),             # over 10,000 pixels
    (png_header_only(60_000, 60_000), "image/png", "_body"),      # a bomb, refused unopened
])
def test_refuses_what_is_not_a_whole_readable_file_of_its_type(store, data, content_type,
                                                                field):
    with pytest.raises(InvalidCommand) as error:
        store.put(data, content_type)
    assert field in error.value.errors
    assert not store.exists(blobs.ref_of(data))


def test_the_pixel_limit_is_width_times_height(store):
    assert store.put(image("PNG", (100, 100)), "image/png")
    with pytest.raises(InvalidCommand) as error:
        store.put(image("JPEG", (200, 51)), "image/jpeg")
    assert error.value.errors == {"_body": ["is 200 x 51 pixels; at most 10000 pixels are taken"]}


def test_unknown_and_malformed_refs(store):
    assert not store.exists("sha256:" + "0" * 64)
    assert not store.exists("sha256:../../etc/passwd")
    assert not store.exists("")
    with pytest.raises(NotFound):
        store.get("sha256:" + "0" * 64)
    with pytest.raises(NotFound):
        store.get("../secret")


def test_configuration_from_the_environment(tmp_path):
    store = blobs.from_environment({"EVIDENCE_DIR": str(tmp_path), "EVIDENCE_MAX_BYTES": "50",
                                    "EVIDENCE_MAX_PIXELS": "1000"})
    assert store.limit == 50 and store.directory == str(tmp_path) and store.pixel_limit == 1000
    assert blobs.max_bytes({}) == 10 * 1024 * 1024
    assert blobs.max_pixels({}) == 50_000_000
