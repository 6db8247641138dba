# One image for every E-inspection service. It has no CMD of its own: each
# container in compose.yaml says which service it runs, as
#   python -m nameko run --config config.yaml services.<name>.service:<Class>
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    PYTHONWARNINGS=ignore::DeprecationWarning,ignore::UserWarning \
    EVENTLET_TESTS=1
# EVENTLET_TESTS: only silences eventlet's deprecation notice, nine lines of
# plain stderr at import, before logging starts (docs/operations.md, Logs)

WORKDIR /app

# The QR sheet prints Chinese position names in WenQuanYi Zen Hei (services/checklist/documents.py).
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-zenhei \
 && rm -rf /var/lib/apt/lists/*

# Dependencies first, so this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

RUN groupadd --system --gid 10001 einspection \
 && useradd --system --uid 10001 --gid einspection --home-dir /app \
        --no-create-home --shell /usr/sbin/nologin einspection

# The code stays owned by root, read-only to the services; only var/ (where
# SQLite files would go without *_DATABASE_URL) is theirs to write.
COPY . .
# var/: SQLite files if no database URL is given; the evidence directory is
# created here so a named volume mounted on it inherits the ownership.
RUN mkdir -p var /var/lib/einspection/blobs \
    && chown einspection:einspection var /var/lib/einspection/blobs

# Numeric, so a runtime can verify it is not root (e.g. runAsNonRoot).
USER 10001:10001
EXPOSE 8000
