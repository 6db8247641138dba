"""Evidence files (photos, PDFs), stored once by the SHA-256 of their bytes.

Plain module, no nameko. `check` decides whether bytes are evidence we take:
the whole file, not only its first bytes — an image must decode completely
(Pillow) within a pixel limit, a PDF must parse (pypdf); anything else is
refused. `BlobStore` is the storage interface; `FileBlobStore` keeps files
under a directory (EVIDENCE_DIR, default ./var/blobs). Another backend (an
S3-compatible bucket, say) implements the same three methods and is picked
in `from_environment`. Events carry only the reference, "sha256:<hex>".
Who owns a file (an enterprise) is recorded by services/hazard/evidence.py.
"""
import hashlib
import io
import logging
import os
import re
import tempfile

from PIL import Image
from pypdf import PdfReader

from einspection.errors import InvalidCommand, NotFound

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PIXELS = 50_000_000          # 50 megapixels: more than a phone camera's photo
REF = re.compile(r"^sha256:([0-9a-f]{64})$")

# What is accepted, recognised by the first bytes of the file (then checked
# whole), not by its name or the header a client sent.
MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)
CONTENT_TYPES = tuple(content_type for _, content_type in MAGIC)
IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}        # Pillow's names
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}
KINDS = {"image/jpeg": "JPEG image", "image/png": "PNG image", "application/pdf": "PDF file"}

logging.getLogger("pypdf").setLevel(logging.ERROR)    # its warnings are about files we refuse


def max_bytes(environ=os.environ):
    return int(environ.get("EVIDENCE_MAX_BYTES") or DEFAULT_MAX_BYTES)


def max_pixels(environ=os.environ):
    return int(environ.get("EVIDENCE_MAX_PIXELS") or DEFAULT_MAX_PIXELS)


def sniff(data):
    """The content type the bytes claim by their start, or None if not an accepted one."""
    for magic, content_type in MAGIC:
        if data.startswith(magic):
            return content_type
    return None


def _not_readable(content_type, why):
    return InvalidCommand({"_body": ["is not a readable %s: %s" % (KINDS[content_type], why)]})


def _check_image(data, content_type, pixel_limit):
    """The image decodes completely, within `pixel_limit`. Only the header is
    read before the size is known, so a small file that unpacks to a huge
    image (a decompression bomb) is refused before it is decoded."""
    try:
        image = Image.open(io.BytesIO(data), formats=[IMAGE_FORMATS[content_type]])
    except Image.DecompressionBombError:
        raise InvalidCommand({"_body": ["has more than %d pixels" % pixel_limit]}) from None
    except Exception as exc:     # Pillow raises many kinds for a broken file; all mean "not one"
        raise _not_readable(content_type, exc) from None
    width, height = image.size
    if width * height > pixel_limit:
        raise InvalidCommand({"_body": ["is %d x %d pixels; at most %d pixels are taken"
                                        % (width, height, pixel_limit)]})
    try:
        image.load()             # decode every pixel: verify() alone passes a broken stream
    except Exception as exc:
        raise _not_readable(content_type, exc) from None


def _check_pdf(data):
    """The PDF parses: its cross-references, its page tree, at least one page;
    not encrypted (a reader of the record must be able to open it)."""
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise InvalidCommand({"_body": ["is an encrypted PDF; upload it without a password"]})
        pages = len(reader.pages)
        for page in reader.pages:
            page.mediabox
    except InvalidCommand:
        raise
    except Exception as exc:
        raise _not_readable("application/pdf", exc) from None
    if not pages:
        raise _not_readable("application/pdf", "it has no pages")


def check(data, content_type, limit, pixel_limit=DEFAULT_MAX_PIXELS):
    """Refuse what is empty, too big, not an accepted type, not what it
    claims, or not a whole readable file of its type. Returns the type."""
    declared = (content_type or "").split(";", 1)[0].strip().lower()
    if not data:
        raise InvalidCommand({"_body": ["is empty"]})
    if len(data) > limit:
        raise InvalidCommand({"_body": ["is larger than %d bytes" % limit]})
    if declared not in CONTENT_TYPES:
        raise InvalidCommand({"content_type": ["must be one of %s" % ", ".join(CONTENT_TYPES)]})
    actual = sniff(data)
    if actual != declared:
        raise InvalidCommand({"content_type": [
            "is %s but the file is %s" % (declared, actual or "of another kind")]})
    if declared in IMAGE_FORMATS:
        _check_image(data, declared, pixel_limit)
    else:
        _check_pdf(data)
    return declared


def ref_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class BlobStore:
    """put(bytes, content_type) -> ref; get(ref) -> (bytes, content_type); exists(ref)."""

    def __init__(self, limit=DEFAULT_MAX_BYTES, pixel_limit=DEFAULT_MAX_PIXELS):
        self.limit = limit
        self.pixel_limit = pixel_limit

    def put(self, data, content_type):
        """Check the file, then keep it; its ref."""
        check(data, content_type, self.limit, self.pixel_limit)
        return self.save(data)

    def save(self, data):
        """Keep bytes already checked (once: the same bytes are the same ref)."""
        ref = ref_of(data)
        if not self.exists(ref):
            self._write(ref, data)
        return ref

    def get(self, ref):
        if not self.exists(ref):
            raise NotFound("evidence", ref)
        data = self._read(ref)
        return data, sniff(data)

    def exists(self, ref):
        return bool(REF.match(ref or "")) and self._has(ref)

    def missing(self, refs):
        return [ref for ref in refs if not self.exists(ref)]

    # a backend implements these three
    def _write(self, ref, data):
        raise NotImplementedError

    def _read(self, ref):
        raise NotImplementedError

    def _has(self, ref):
        raise NotImplementedError


class FileBlobStore(BlobStore):
    """<dir>/ab/cd/<hex>: content-addressed, written atomically (temp file, rename)."""

    def __init__(self, directory, limit=DEFAULT_MAX_BYTES, pixel_limit=DEFAULT_MAX_PIXELS):
        super().__init__(limit, pixel_limit)
        self.directory = os.path.abspath(directory)

    def _path(self, ref):
        digest = REF.match(ref).group(1)
        return os.path.join(self.directory, digest[:2], digest[2:4], digest)

    def _write(self, ref, data):
        path = self._path(ref)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise

    def _read(self, ref):
        with open(self._path(ref), "rb") as handle:
            return handle.read()

    def _has(self, ref):
        return os.path.isfile(self._path(ref))


def from_environment(environ=os.environ):
    return FileBlobStore(environ.get("EVIDENCE_DIR") or os.path.join("var", "blobs"),
                         limit=max_bytes(environ), pixel_limit=max_pixels(environ))
