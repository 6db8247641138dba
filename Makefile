# E-inspection: `make run` starts the platform, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
HOST   ?= 127.0.0.1

.PHONY: venv run test unit replay bench admin clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

venv: $(VENV)/.installed

## run: the five services and the gateway on http://localhost:$(PORT), SQLite under ./var, demo data
## (HOST=0.0.0.0: listen on every interface, QR codes carry this machine's address)
run: venv
	$(PY) -m tools.run --host $(HOST) --port $(PORT)

## test: unit, integration and end-to-end tests on the real broker, SQLite and PostgreSQL
test: venv
	$(PY) -m pytest

unit: venv
	$(PY) -m pytest services/hazard/unit services/checklist/unit services/scoring/unit services/notify/unit einspection/tests/unit

## replay: drop the scoring and notify read models and rebuild them from their events
replay: venv
	$(PY) -m services.scoring.cli replay
	$(PY) -m services.notify.cli replay

## admin: create an authority admin in the register (USERNAME=...; asks for the password)
admin: venv
	$(PY) -m services.checklist.cli create-admin --username $(USERNAME)

## bench: end-to-end event throughput and latency beside the raw broker ceiling; replay rate
bench: venv
	$(PY) bench/bench_events.py
	$(PY) bench/bench_replay.py

clean:
	rm -rf var test-artifacts
