"""`make bench`'s goals table and JSON line (bench/run_all.py), from made-up
script outputs: no benchmark runs here (a quick run takes minutes)."""
import importlib.util
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(name):
    spec = importlib.util.spec_from_file_location("bench_" + name,
                                                  os.path.join(ROOT, "bench", name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run_all = load("run_all")

EVENTS_SQLITE = {"backend": "sqlite", "e2e_rate": 60.0, "raw_e2e_rate": 600.0,
                 "cpu_ms_per_hazard_total": 5.0, "raw_cpu_ms_per_message": 1.0,
                 "http_p99_ms": 40.0, "http_ceiling_p99_ms": 8.0,
                 "e2e_p99_ms": 300.0, "raw_p99_ms": 1.5,
                 "score_p99_ms": 12.0, "ledger_p99_ms": 30.0, "live_p99_ms_while_reading": 4.0,
                 "drain_speedup": 1.7, "drain_scoring_cores_one": 0.95,
                 "drain_scoring_cores_two": 1.8}


def rows_by(rows):
    return {(row["goal"], row["backend"]): row for row in rows}


def test_figures_beside_their_ceilings_ratios_and_goals():
    rows = rows_by(run_all.goal_rows({("events", "sqlite"): EVENTS_SQLITE}))
    e2e = rows[("e2e_over_raw", "sqlite")]
    assert (e2e["value"], e2e["ceiling"], e2e["ratio"]) == (60.0, 600.0, 0.1)
    assert e2e["met"] is False                 # judged on the ratio: 0.1 < 0.5
    assert e2e["today"] == "0.106"
    cpu = rows[("cpu_per_hazard", "sqlite")]
    assert cpu["met"] is True and cpu["ratio"] == 5.0     # 5 ms <= 6 ms; 5x raw kombu
    assert rows[("http_p99", "sqlite")]["met"] is True
    assert rows[("e2e_p99", "sqlite")]["met"] is False
    assert rows[("score_p99", "sqlite")]["met"] is True
    assert rows[("ledger_p99", "sqlite")]["met"] is False
    speedup = rows[("scoring_2_over_1", "sqlite")]
    assert (speedup["value"], speedup["ceiling"], speedup["met"]) == (1.7, 2.0, True)
    assert speedup["notes"] == {"drain_scoring_cores_one": 0.95, "drain_scoring_cores_two": 1.8,
                                "drain_machine_cores_two": None}


def test_a_figure_no_script_printed_is_not_measured_never_made_up():
    rows = rows_by(run_all.goal_rows({("events", "sqlite"): EVENTS_SQLITE,
                                      ("events", "postgres"): None,
                                      ("replay", "sqlite"): {"live_rate": "fast"}}))
    for key in [("e2e_over_raw", "postgres"), ("replay_over_scan", "sqlite"),
                ("live_projection", "sqlite"), ("rss_100k", "postgres")]:
        row = rows[key]
        assert (row["value"], row["ratio"], row["met"], row["measured"]) == (
            None, None, None, False), key
    # a fixed ceiling stays, the figure beside it is still not measured
    assert rows[("scoring_2_over_1", "postgres")]["ceiling"] == 2.0
    text = run_all.table(list(rows.values()))
    assert "not measured" in text
    postgres_e2e = [line for line in text.splitlines()
                    if line.startswith("end to end") and "postgres" in line]
    assert len(postgres_e2e) == 1 and "not measured" in postgres_e2e[0]
    assert postgres_e2e[0].rstrip().endswith("-")           # met: neither yes nor no


def test_the_table_has_every_goal_on_every_backend_and_says_the_ceilings():
    rows = run_all.goal_rows({("events", "sqlite"): EVENTS_SQLITE})
    assert len(rows) == 2 * len(run_all.GOALS)
    text = run_all.table(rows, quick=True)
    header, rule = text.splitlines()[:2]
    for column in ("figure", "backend", "today", "goal", "this run", "ceiling (this run)",
                   "ratio", "met"):
        assert column in header
    assert set(rule) <= {"-", " "}
    assert "ratio \u2265 0.5" in text and "\u2264 20 ms" in text and "\u2265 2,000 ev/s" in text
    assert "  end to end HTTP -> scoring, events/s: raw kombu, confirm per message" in text
    assert "QUICK RUN" in text
    assert ("2 scoring consumers / 1, pre-filled, sqlite: cores used by 1 scoring process 0.950, "
            "by 2 1.80") in text


def test_the_last_line_is_one_json_object_with_every_figure():
    results = {("events", "sqlite"): EVENTS_SQLITE, ("replay", "sqlite"): None}
    rows = run_all.goal_rows(results, ["sqlite"])
    line = json.dumps(run_all.report(rows, results, ["bench_replay.py on sqlite printed no "
                                                     "JSON last line"], True, {}),
                      separators=(",", ":"))
    assert "\n" not in line
    found = json.loads(line)
    assert len(found["goals"]) == len(run_all.GOALS)
    assert found["runs"]["events/sqlite"]["e2e_rate"] == 60.0
    assert found["runs"]["replay/sqlite"] is None
    assert found["errors"] and found["quick"] is True


def test_replay_rss_growth_from_the_rss_samples_of_the_replay():
    replay = {"replay_rate": 900.0, "scan_rate": 3000.0, "live_rate": 2500.0,
              "rss_mib": {"before": 50.0, "10%": 80.0, "50%": 82.0, "100%": 84.0, "max": 85.0}}
    rows = rows_by(run_all.goal_rows({("replay", "sqlite"): replay}, ["sqlite"]))
    assert rows[("replay_rss_growth", "sqlite")]["value"] == 5.0
    assert rows[("replay_rss_growth", "sqlite")]["met"] is True
    assert rows[("replay_over_scan", "sqlite")]["ratio"] == 0.3
    assert rows[("replay_over_scan", "sqlite")]["met"] is True
    live = rows[("live_projection", "sqlite")]            # no bulk insert printed: no ceiling
    assert (live["value"], live["ceiling"], live["ratio"]) == (2500.0, None, None)
    assert live["met"] is True


def test_a_scripts_figures_are_its_last_json_line():
    assert run_all.last_json('table\n{"a": 1}\n{"e2e_rate": 5}\n\n') == {"e2e_rate": 5}
    assert run_all.last_json('{"e2e_rate": 5}\nreplay / raw: 0.1\n') is None
    assert run_all.last_json("[1, 2]\n") is None and run_all.last_json("") is None


def test_bench_events_prints_every_key_the_runner_reads_from_it():
    with open(os.path.join(ROOT, "bench", "bench_events.py")) as handle:
        source = handle.read()
    for goal in run_all.GOALS:
        if goal.benchmark == "events":
            for key in [goal.value, goal.ceiling, *run_all.NOTES.get(goal.name, ())]:
                if isinstance(key, str):
                    assert '"%s":' % key in source, (goal.name, key)
