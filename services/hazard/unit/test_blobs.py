import pytest

from einspection.errors import InvalidCommand, NotFound
from services.hazard import blobs

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 40
PDF = b"%PDF-1.7\n" + b"%" * 40


@pytest.fixture
def store(tmp_path):
    return blobs.FileBlobStore(str(tmp_path / "blobs"), limit=1000)


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
    (PNG + b"x" * 1000, "image/png", "_body"),                   # over the limit
    (b"GIF89a" + b"\x00" * 10, "image/gif", "content_type"),     # not accepted
    (b"<html>not a png</html>", "image/png", "content_type"),     # the header lies
    (PDF, "image/jpeg", "content_type"),
])
def test_refuses_empty_big_and_mislabelled_files(store, data, content_type, field):
    with pytest.raises(InvalidCommand) as error:
        store.put(data, content_type)
    assert field in error.value.errors


def test_unknown_and_malformed_refs(store):
    assert not store.exists("sha256:" + "0" * 64)
    assert not store.exists("sha256:../../etc/passwd")
    assert not store.exists("")
    with pytest.raises(NotFound):
        store.get("sha256:" + "0" * 64)
    with pytest.raises(NotFound):
        store.get("../secret")


def test_configuration_from_the_environment(tmp_path):
    store = blobs.from_environment({"EVIDENCE_DIR": str(tmp_path), "EVIDENCE_MAX_BYTES": "50"})
    assert store.limit == 50 and store.directory == str(tmp_path)
    assert blobs.max_bytes({}) == 10 * 1024 * 1024
