# E-inspection: `make run` starts the platform, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
HOST   ?= 127.0.0.1
# processes per service, e.g. REPLICAS="scoring=3 hazard=2 notify=2 gateway=2" (others: 1)
REPLICAS ?=
# more options of tools/run.py, e.g. RUN_ARGS=--no-demo (python -m tools.run --help)
RUN_ARGS ?=
# make bench's options, e.g. BENCH_ARGS="--quick" or "--backends sqlite --flame bench/flames"
BENCH_ARGS ?=

.PHONY: venv promtool run test chaos unit replay bench admin clean

# The QR sheet's labels are printed in this font (Debian's fonts-wqy-zenhei): Chinese
# position names need one; installed here where it is missing and apt-get may.
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc

$(VENV)/.installed: requirements.txt
	test -f $(CJK_FONT) || apt-get install -y fonts-wqy-zenhei \
	  || (apt-get update && apt-get install -y fonts-wqy-zenhei) \
	  || echo "warning: install Debian's fonts-wqy-zenhei (or set QR_SHEET_FONT) for the QR sheet" >&2
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# the official AsyncAPI parser for tests/test_asyncapi.py (npm @asyncapi/parser, locked),
# where node and npm are installed (without them that test is skipped)
ASYNCAPI_PARSER := tools/asyncapi/node_modules/.package-lock.json

$(ASYNCAPI_PARSER): tools/asyncapi/package-lock.json
	if command -v npm >/dev/null; then \
	  cd tools/asyncapi && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error; \
	else echo "note: no npm: tests/test_asyncapi.py skips the AsyncAPI parser check" >&2; fi

venv: $(VENV)/.installed $(ASYNCAPI_PARSER)

# The metrics tests run promtool (Debian's prometheus package) on every endpoint's output,
# on the alert rules and on their unit test; installed where it is missing and apt-get may
# (else those tests are skipped, saying why).
promtool:
	command -v promtool >/dev/null || apt-get install -y --no-install-recommends prometheus \
	  || (apt-get update && apt-get install -y --no-install-recommends prometheus) \
	  || echo "warning: install Debian's prometheus package for promtool (metrics tests skip)" >&2

## run: the six services (the gateway among them) on http://localhost:$(PORT), SQLite under ./var, demo data
## (HOST=0.0.0.0: listen on every interface, QR codes carry this machine's address;
## REPLICAS="scoring=3 gateway=2": that many processes of those services, the others one)
# exec: the launcher takes the place of make's shell, so the SIGTERM make passes on to
# its child reaches the launcher (the shell alone would die and leave the platform running)
run: venv
	exec $(PY) -m tools.run --host $(HOST) --port $(PORT) --replicas "$(REPLICAS)" $(RUN_ARGS)

## test: unit, integration and end-to-end tests on the real broker, SQLite and PostgreSQL,
## in TEST_SHARDS (3) pytest processes side by side (tools/test_shards.py)
test: venv promtool
	$(PY) -m tools.test_shards

## chaos: the fault tests (broker and database outages, kill -9, SIGTERM, poison messages,
## replicas) on a RabbitMQ node and a PostgreSQL cluster of their own, in FAULT_SHARDS (1)
## pytest processes side by side, each with its own node and cluster
chaos: venv
	$(PY) -m tools.test_shards --faults -- -v -s

unit: venv
	$(PY) -m pytest services/hazard/unit services/checklist/unit services/scoring/unit \
	  services/notify/unit services/gateway/unit einspection/tests/unit

## replay: drop the hazard ledger and the checklist, scoring, notify and enforcement read models and rebuild them from their events
replay: venv
	$(PY) -m services.hazard.cli replay
	$(PY) -m services.checklist.cli replay
	$(PY) -m services.scoring.cli replay
	$(PY) -m services.notify.cli replay
	$(PY) -m services.enforcement.cli replay

## admin: create an authority admin in the register (USERNAME=...; asks for the password)
admin: venv
	$(PY) -m services.checklist.cli create-admin --username $(USERNAME)

## bench: issue 14's goals on SQLite and PostgreSQL, each figure beside the ceiling of the same run
## (bench/run_all.py, bench/README.md); BENCH_ARGS="--quick": small N, a check in minutes;
## BENCH_ARGS="--flame bench/flames": py-spy flame graphs of every service
bench: venv
	$(PY) -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	$(PY) bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf var test-artifacts
