#!/usr/bin/env python
"""`make bench`: every benchmark on both backends in one go, and one table of
issue 14's goals — each figure beside the ceiling measured in the same run.

    python bench/run_all.py                       # what make bench runs
    python bench/run_all.py --quick               # small N: checks that it all works, in minutes
    python bench/run_all.py --backends sqlite --only events
    python bench/run_all.py --flame bench/flames  # py-spy flame graphs of every service

Each benchmark script prints its own report and, as its last line, one JSON
object of its figures; this runner runs them one after another (never side by
side: they share two cores), collects those lines and reads the figures of
`GOALS` from them. A figure a script did not print (a script that failed, an
older script, a key it does not have) is shown as "not measured", never made up.
The last line printed is one JSON object: every goal's row and every script's
own JSON. Exit status 1 when a script failed, else 0 (a goal not met is a
result, not a failure).
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections import namedtuple
from datetime import datetime, timezone

BENCH = os.path.dirname(os.path.abspath(__file__))
BACKENDS = ("sqlite", "postgres")
NOT_MEASURED = "not measured"

# The benchmarks, run once per backend with `--backend`: (script, arguments,
# arguments with --quick). Without arguments a script runs at the sizes of the goals.
Benchmark = namedtuple("Benchmark", "script args quick_args")
BENCHMARKS = {
    "events": Benchmark("bench_events.py", [],
                        ["--events", "60", "--warmup", "5", "--wait-idle", "0",
                         "--read-events", "30", "--drain-events", "100", "--timeout", "120"]),
    "replay": Benchmark("bench_replay.py", [], ["--events", "500"]),
    # 100,000 enterprises take a while to build (bench/README.md, bench_enterprises.py)
    "enterprises": Benchmark("bench_enterprises.py", [],
                             ["--enterprises", "300", "--requests", "20"]),
}

def rss_growth_percent(summary):
    """bench_replay.py's RSS at the end of the replay over its RSS a tenth of its time in."""
    if number(summary.get("replay_rss_growth_percent")) is not None:
        return summary["replay_rss_growth_percent"]
    rss = summary.get("rss_mib")
    if isinstance(rss, dict) and number(rss.get("10%")) and number(rss.get("100%")) is not None:
        return 100.0 * (rss["100%"] - rss["10%"]) / rss["10%"]
    return None


# One goal, one row per backend. `value` and `ceiling` are keys of that
# benchmark's JSON, or a function of it (a number as `ceiling`: a fixed
# ceiling, said in `ceiling_note`);
# `ratio` is value / ceiling; the goal is met when `on` (the value or the ratio)
# is `op` `threshold`. `today` is issue 14's figure of 2026-12-02 per backend.
Goal = namedtuple("Goal", "name figure unit benchmark value ceiling ceiling_note today "
                          "on op threshold")
GOALS = [
    Goal("e2e_over_raw", "end to end HTTP -> scoring, events/s", "ev/s", "events",
         "e2e_rate", "raw_e2e_rate", "raw kombu, confirm per message",
         {"sqlite": "0.106", "postgres": "0.058"}, "ratio", ">=", 0.5),
    Goal("cpu_per_hazard", "CPU per hazard, all processes", "ms", "events",
         "cpu_ms_per_hazard_total", "raw_cpu_ms_per_message", "raw kombu CPU per message",
         {"sqlite": "~26 ms", "postgres": "~46 ms"}, "value", "<=", 6.0),
    Goal("http_p99", "HTTP POST p99, 8 clients", "ms", "events",
         "http_p99_ms", "http_ceiling_p99_ms", "GET /health/live p99, same clients",
         {"sqlite": "222 ms", "postgres": "311 ms"}, "value", "<=", 50.0),
    Goal("e2e_p99", "send -> projected p99, 8 clients", "ms", "events",
         "e2e_p99_ms", "raw_p99_ms", "raw kombu publish -> ack p99",
         {"sqlite": "728 ms", "postgres": "2,921 ms"}, "value", "<=", 250.0),
    Goal("replay_over_scan", "replay of 1,000,000 events, events/s", "ev/s", "replay",
         "replay_rate", "scan_rate", "plain SELECT scan of the same table",
         {"sqlite": "7,776 ev/s of 5,000", "postgres": "2,460 ev/s of 5,000"},
         "ratio", ">=", 0.3),
    Goal("replay_rss_growth", "replay RSS growth, a tenth to the end", "%", "replay",
         rss_growth_percent, None, "",
         {"sqlite": NOT_MEASURED, "postgres": NOT_MEASURED}, "value", "<=", 10.0),
    Goal("live_projection", "live projection, 200 a transaction", "ev/s", "replay",
         "live_rate", "bulk_insert_rate", "bulk insert of the same rows",
         {"sqlite": "442 ev/s", "postgres": "162 ev/s"}, "value", ">=", 2000.0),
    Goal("score_p99", "GET score p99, 16 readers, ingesting", "ms", "events",
         "score_p99_ms", "live_p99_ms_while_reading", "GET /health/live p99, same readers",
         {"sqlite": NOT_MEASURED, "postgres": NOT_MEASURED}, "value", "<=", 20.0),
    Goal("ledger_p99", "ledger page p99, 16 readers, ingesting", "ms", "events",
         "ledger_p99_ms", "live_p99_ms_while_reading", "GET /health/live p99, same readers",
         {"sqlite": NOT_MEASURED, "postgres": NOT_MEASURED}, "value", "<=", 20.0),
    Goal("rss_100k", "largest service RSS, 100,000 enterprises", "MiB", "enterprises",
         "max_service_rss_mib", None, "",
         {"sqlite": NOT_MEASURED, "postgres": NOT_MEASURED}, "value", "<=", 200.0),
    Goal("rankings_p99", "rankings p99, 100,000 enterprises", "ms", "enterprises",
         "rankings_p99_ms", None, "",
         {"sqlite": NOT_MEASURED, "postgres": NOT_MEASURED}, "value", "<=", 200.0),
    Goal("scoring_2_over_1", "2 scoring consumers / 1, pre-filled", "x", "events",
         "drain_speedup", 2.0, "linear: 2 consumers, 2 cores",
         {"sqlite": NOT_MEASURED, "postgres": NOT_MEASURED}, "value", ">=", 1.6),
]
# said under the table for a goal: what else the reader needs to judge it (key: label)
NOTES = {"scoring_2_over_1": {"drain_scoring_cores_one": "cores used by 1 scoring process",
                              "drain_scoring_cores_two": "by 2",
                              "drain_machine_cores_two": "the whole machine meanwhile"}}


def last_json(text):
    """The last non-empty line of `text` as a JSON object, or None."""
    for line in reversed(text.splitlines()):
        if line.strip():
            try:
                found = json.loads(line)
            except ValueError:
                return None
            return found if isinstance(found, dict) else None
    return None


def number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def figure(summary, spec):
    return spec(summary) if callable(spec) else summary.get(spec)


def goal_rows(results, backends=BACKENDS):
    """One row per goal and backend from {(benchmark, backend): its JSON or None}."""
    rows = []
    for goal in GOALS:
        for backend in backends:
            summary = results.get((goal.benchmark, backend)) or {}
            value = number(figure(summary, goal.value))
            if isinstance(goal.ceiling, (int, float)):
                ceiling = float(goal.ceiling)
            else:
                ceiling = number(figure(summary, goal.ceiling)) if goal.ceiling else None
            ratio = float("%.4g" % (value / ceiling)) if value is not None and ceiling else None
            judged = value if goal.on == "value" else ratio
            met = None
            if judged is not None:
                met = judged >= goal.threshold if goal.op == ">=" else judged <= goal.threshold
            rows.append({
                "goal": goal.name, "figure": goal.figure, "backend": backend,
                "unit": goal.unit, "today": goal.today.get(backend, NOT_MEASURED),
                "goal_text": goal_text(goal), "value": value, "ceiling": ceiling,
                "ceiling_is": goal.ceiling_note or None, "ratio": ratio, "met": met,
                "notes": {key: summary.get(key) for key in NOTES.get(goal.name, ())},
                "measured": value is not None,
            })
    return rows


def goal_text(goal):
    sign = {">=": "\u2265", "<=": "\u2264"}[goal.op]
    threshold = ("{:,}".format(int(goal.threshold)) if goal.threshold == int(goal.threshold)
                 else "%g" % goal.threshold)
    if goal.on == "ratio":
        return "ratio %s %s" % (sign, threshold)
    return "%s %s%s" % (sign, threshold, {"x": "x", "%": " %"}.get(goal.unit, " " + goal.unit))


def format_number(value):
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return "{:,.0f}".format(value)
    if abs(value) >= 100:
        return "%.0f" % value
    if abs(value) >= 10:
        return "%.1f" % value
    if abs(value) >= 1:
        return "%.2f" % value
    return "%.3f" % value


def format_value(value, unit):
    if value is None:
        return NOT_MEASURED
    if unit == "x":
        return format_number(value) + "x"
    if unit == "%":
        return format_number(value) + " %"
    return "%s %s" % (format_number(value), unit)


def table(rows, quick=False):
    """The goals table, as text."""
    columns = ("figure", "backend", "today", "goal", "this run", "ceiling (this run)",
               "ratio", "met")
    lines = []
    body = []
    notes = []
    for row in rows:
        labels = NOTES.get(row["goal"], {})
        said = ", ".join("%s %s" % (labels.get(key, key), format_number(number(value)))
                         for key, value in row["notes"].items() if number(value) is not None)
        if said:
            notes.append("%s, %s: %s" % (row["figure"], row["backend"], said))
        body.append((row["figure"], row["backend"],
                     row["today"], row["goal_text"], format_value(row["value"], row["unit"]),
                     "-" if row["ceiling"] is None else format_value(row["ceiling"], row["unit"]),
                     format_number(row["ratio"]),
                     {True: "yes", False: "no", None: "-"}[row["met"]]))
    widths = [max(len(columns[i]), *(len(r[i]) for r in body)) for i in range(len(columns))]
    line = "  ".join("%-*s" for _ in columns)
    lines.append((line % tuple(v for pair in zip(widths, columns) for v in pair)).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    for values in body:
        lines.append((line % tuple(v for pair in zip(widths, values) for v in pair)).rstrip())
    ceilings = sorted({(row["figure"], row["ceiling_is"]) for row in rows if row["ceiling_is"]},
                      key=lambda pair: [g.figure for g in GOALS].index(pair[0]))
    lines.extend(notes)
    lines.append("the ceilings, measured in the same run:")
    lines.extend("  %s: %s" % pair for pair in ceilings)
    lines.append("ratio = this run / its ceiling; \"met\" judges the value, or the ratio where "
                 "the goal is a ratio." + (" QUICK RUN: small N, the figures say the benchmark "
                                           "works, not how fast the platform is." if quick else ""))
    return "\n".join(lines)


def report(rows, results, errors, quick, machine):
    """The JSON object printed last: every goal's row and every script's own JSON."""
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"), "cores": os.cpu_count(),
        "quick": quick, "machine": machine, "goals": rows,
        "runs": {"%s/%s" % key: value for key, value in sorted(results.items())},
        "errors": errors,
    }


def load_average():
    try:
        with open("/proc/loadavg") as handle:
            return float(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


RUNNING = []      # the benchmark process running now: SIGTERM is passed on to it


def stop_running(signum, _frame):
    """A benchmark cleans up on SIGTERM (its processes, databases, vhost): let it."""
    for process in RUNNING:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
    raise SystemExit(128 + signum)


def run_benchmark(name, backend, quick, flame):
    """Run one script, its output passed through; (its JSON or None, error or None)."""
    benchmark = BENCHMARKS[name]
    command = [sys.executable, os.path.join(BENCH, benchmark.script), "--backend", backend]
    command += benchmark.quick_args if quick else benchmark.args
    if flame and name == "events":
        command += ["--flame", os.path.join(flame, backend)]
    print("\n=== %s on %s: %s" % (name, backend, " ".join(command[1:])), flush=True)
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, bufsize=1)
    RUNNING[:] = [process]
    output = []
    for line in process.stdout:
        sys.stdout.write(line)
        output.append(line)
    process.wait()
    RUNNING.clear()
    sys.stdout.flush()
    summary = last_json("".join(output))
    seconds = time.monotonic() - started
    if process.returncode != 0:
        return summary, "%s on %s exited with %d after %.0fs" % (
            benchmark.script, backend, process.returncode, seconds)
    if summary is None:
        return None, "%s on %s printed no JSON last line" % (benchmark.script, backend)
    return summary, None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small N everywhere: a check that the benchmarks run, in minutes")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help="comma-separated (sqlite,postgres)")
    parser.add_argument("--only", default=",".join(BENCHMARKS),
                        help="comma-separated benchmarks (%s)" % ",".join(BENCHMARKS))
    parser.add_argument("--flame", metavar="DIR",
                        help="py-spy flame graphs of every service during the event "
                             "benchmark's measured window: DIR/<backend>/<service>.svg")
    args = parser.parse_args(argv)
    backends = [b for b in args.backends.split(",") if b]
    names = [n for n in args.only.split(",") if n]
    unknown = [b for b in backends if b not in BACKENDS] + [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error("unknown: %s" % ", ".join(unknown))

    signal.signal(signal.SIGTERM, stop_running)
    machine = {"load_average_start": load_average()}
    results, errors = {}, []
    for name in names:
        for backend in backends:
            summary, error = run_benchmark(name, backend, args.quick, args.flame)
            results[(name, backend)] = summary
            if error:
                errors.append(error)
    machine["load_average_end"] = load_average()
    for backend in backends:
        events = results.get(("events", backend)) or {}
        machine["other_work_percent_of_a_core_%s" % backend] = number(
            (events.get("cpu_percent") or {}).get("everything else"))

    rows = goal_rows(results, backends)
    print("\n=== issue 14's goals, %s, %d cores, load average %s at the start, %s at the end"
          % (datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), os.cpu_count(),
             format_number(machine["load_average_start"]),
             format_number(machine["load_average_end"])))
    print(table(rows, args.quick))
    for backend in backends:
        other = machine.get("other_work_percent_of_a_core_%s" % backend)
        if other is not None:
            print("other work on the machine during the %s event run: %.0f %% of a core%s"
                  % (backend, other, " -- the figures are skewed" if other > 20 else ""))
    for error in errors:
        print("FAILED: " + error)
    print(json.dumps(report(rows, results, errors, args.quick, machine),
                     separators=(",", ":"), ensure_ascii=False), flush=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
