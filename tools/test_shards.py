"""`make test`: every test, in a few pytest processes side by side.

Most of the suite waits — on service processes starting, on the broker, on
a browser — so on two cores three pytest processes finish in about a third
of the time one takes. Each process is an ordinary pytest session with its
own run id, hence its own vhost, queues and databases (conftest.py): the
shards never see each other.

| setting | default | what |
| --- | --- | --- |
| `TEST_SHARDS` | `3` | how many pytest processes (`--faults`: `FAULT_SHARDS`, `1`: the outage tests time /health, two sessions side by side made it miss its 2 s) |
| `TEST_SHARD_LOGS` | `test-artifacts/shards` | each shard's full output, its JUnit XML and `durations.json`: the seconds each unit took in this run, in the form of `tests/durations.json` (copy it there to deal the next runs by them) |

A shard is a list of test files and folders; files that share a session
fixture stay together (`TOGETHER`), the rest are dealt out longest first by
the seconds in `tests/durations.json` (measured with `--durations=0`; a file
missing there counts as `DEFAULT_SECONDS`). Each shard's output is printed
when it ends; the exit status is the first failing shard's, or 0.

    python -m tools.test_shards            # what make test runs
    python -m tools.test_shards --faults   # what make chaos runs: tests/faults, each shard
                                           # on a broker node and a cluster of its own
    python -m tools.test_shards --list     # the shards, without running them
    python -m pytest tests/test_hazards.py # one file, as usual
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DURATIONS = os.path.join(ROOT, "tests", "durations.json")
DEFAULT_SECONDS = 20.0
# tests/test_docs.py runs the documentation's examples on the demo platform
# tests/test_demo.py checked first: one session, in this order
TOGETHER = [("tests/test_demo.py", "tests/test_docs.py")]
# the fault tests that stream hazards share one platform (tests/faults/conftest.py
# stream_platform): one session starts it once
FAULTS_TOGETHER = [("tests/faults/test_broker_restart.py", "tests/faults/test_database_outage.py",
                    "tests/faults/test_process_faults.py")]


def units(faults=False):
    """The suite as units a shard takes whole: the end-to-end test files one
    by one (they are the long ones), each service's and the core's own tests
    as one unit per folder; or (`faults`) the fault test files."""
    if faults:
        return _files("tests/faults/test_*.py", FAULTS_TOGETHER)
    found = []
    for folder in sorted(glob.glob(os.path.join(ROOT, "services", "*"))) + [
            os.path.join(ROOT, "einspection")]:
        if glob.glob(os.path.join(folder, "**", "test_*.py"), recursive=True):
            found.append((os.path.relpath(folder, ROOT),))
    return found + _files("tests/test_*.py", TOGETHER)


def _files(pattern, together):
    files = sorted(os.path.relpath(path, ROOT) for path in glob.glob(os.path.join(ROOT, pattern)))
    grouped = {name for group in together for name in group}
    return [(name,) for name in files if name not in grouped] + [
        group for group in together if all(name in files for name in group)]


def deal(all_units, count, seconds):
    """Longest first, each to the shard with the least so far (LPT)."""
    shards = [{"paths": [], "seconds": 0.0} for _ in range(count)]
    weighed = sorted(all_units, key=lambda unit: (-sum(
        seconds.get(path, DEFAULT_SECONDS) for path in unit), unit))
    for unit in weighed:
        lightest = min(shards, key=lambda shard: shard["seconds"])
        lightest["paths"].extend(unit)
        lightest["seconds"] += sum(seconds.get(path, DEFAULT_SECONDS) for path in unit)
    return [shard for shard in shards if shard["paths"]]


def run(shards, log_dir, pytest_args):
    os.makedirs(log_dir, exist_ok=True)
    started = time.monotonic()
    running = []
    for number, shard in enumerate(shards, 1):
        log_path = os.path.join(log_dir, "shard-%d.log" % number)
        log = open(log_path, "w")
        junit = os.path.join(log_dir, "shard-%d.xml" % number)
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "--junitxml=" + junit, *pytest_args,
             *shard["paths"]],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            env=dict(os.environ, TEST_SHARD=str(number)))   # each its own screenshots
        running.append((number, shard, process, log, log_path))
    status = 0
    summary = []
    pending = list(running)
    while pending:
        for entry in list(pending):
            number, shard, process, log, log_path = entry
            if process.poll() is None:
                continue
            pending.remove(entry)
            log.close()
            elapsed = time.monotonic() - started
            print("\n===== shard %d of %d: exit %d after %.0f s (%s) =====" % (
                number, len(shards), process.returncode, elapsed, " ".join(shard["paths"])))
            with open(log_path) as output:
                sys.stdout.write(output.read())
            sys.stdout.flush()
            summary.append("shard %d: exit %d, %.0f s" % (number, process.returncode, elapsed))
            if process.returncode and not status:
                status = process.returncode
        time.sleep(0.5)
    print("\n%s; all shards in %.0f s" % ("; ".join(summary), time.monotonic() - started))
    write_measured(log_dir, [os.path.join(log_dir, "shard-%d.xml" % n)
                             for n in range(1, len(shards) + 1)])
    return status


def unit_of(classname):
    """The durations key of a JUnit test case's classname: a service's or the
    core's folder, or the test file (tests.test_web.TestX → tests/test_web.py)."""
    parts = classname.split(".")
    if parts[0] == "services" and len(parts) > 1:
        return "services/" + parts[1]
    if parts[0] == "einspection":
        return "einspection"
    for end in range(len(parts), 0, -1):
        path = "/".join(parts[:end]) + ".py"
        if os.path.exists(os.path.join(ROOT, path)):
            return path
    return None


def measured_seconds(junit_files):
    """{unit: seconds} summed over the test cases (setup, call and teardown:
    pytest's junit_duration_report "total") of the JUnit files that exist."""
    seconds = {}
    for path in junit_files:
        if not os.path.exists(path):
            continue
        for case in ElementTree.parse(path).getroot().iter("testcase"):
            unit = unit_of(case.get("classname", ""))
            if unit:
                seconds[unit] = seconds.get(unit, 0.0) + float(case.get("time") or 0)
    return seconds


def write_measured(log_dir, junit_files):
    with open(DURATIONS) as f:
        durations = json.load(f)
    found = measured_seconds(junit_files)
    if not found:
        return
    durations.update({unit: max(1, round(value)) for unit, value in found.items()})
    path = os.path.join(log_dir, "durations.json")
    with open(path, "w") as f:
        f.write(json.dumps(durations, indent=1, sort_keys=True) + "\n")
    print("the seconds each unit took in this run: %s (copy it to tests/durations.json "
          "to deal the next runs by them)" % os.path.relpath(path, ROOT))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faults", action="store_true", help="the fault tests (tests/faults)")
    parser.add_argument("--shards", type=int)
    parser.add_argument("--list", action="store_true", help="print the shards and stop")
    parser.add_argument("pytest_args", nargs="*", help="passed to every pytest (after --)")
    args = parser.parse_args(argv)
    with open(DURATIONS) as f:
        seconds = json.load(f)
    count = args.shards or int(os.environ.get(*(("FAULT_SHARDS", "1") if args.faults
                                                 else ("TEST_SHARDS", "3"))))
    shards = deal(units(args.faults), max(1, count), seconds)
    if args.list:
        for number, shard in enumerate(shards, 1):
            print("shard %d (~%.0f s): %s" % (number, shard["seconds"], " ".join(shard["paths"])))
        return 0
    log_dir = os.environ.get("TEST_SHARD_LOGS", os.path.join(
        ROOT, "test-artifacts", "fault-shards" if args.faults else "shards"))
    return run(shards, log_dir, args.pytest_args)


if __name__ == "__main__":
    sys.exit(main())
