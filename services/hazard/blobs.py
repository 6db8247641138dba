"""Evidence files (photos, PDFs), stored once by the SHA-256 of their bytes.

Plain module, no nameko. `BlobStore` is the interface; `FileBlobStore` keeps
files under a directory (EVIDENCE_DIR, default ./var/blobs). Another backend
(an S3-compatible bucket, say) implements the same three methods and is picked
in `from_environment`. Events carry only the reference, "sha256:<hex>".
"""
import hashlib
import os
import re
import tempfile

from einspection.errors import InvalidCommand, NotFound

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
REF = re.compile(r"^sha256:([0-9a-f]{64})$")

# What is accepted, recognised by the first bytes of the file, not by its name
# or the header a client sent.
MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)
CONTENT_TYPES = tuple(content_type for _, content_type in MAGIC)


def max_bytes(environ=os.environ):
    return int(environ.get("EVIDENCE_MAX_BYTES") or DEFAULT_MAX_BYTES)


def sniff(data):
    """The content type the bytes really have, or None if not an accepted one."""
    for magic, content_type in MAGIC:
        if data.startswith(magic):
            return content_type
    return None


def check(data, content_type, limit):
    """Refuse what is empty, too big, not an accepted type, or not what it claims."""
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
    return declared


def ref_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class BlobStore:
    """put(bytes, content_type) -> ref; get(ref) -> (bytes, content_type); exists(ref)."""

    def __init__(self, limit=DEFAULT_MAX_BYTES):
        self.limit = limit

    def put(self, data, content_type):
        content_type = check(data, content_type, self.limit)
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

    def __init__(self, directory, limit=DEFAULT_MAX_BYTES):
        super().__init__(limit)
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
                         limit=max_bytes(environ))
