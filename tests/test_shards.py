"""make test's shards (tools/test_shards.py) run every test file once, and
the demo's two files in one session, in order."""
import glob
import os

from tools import test_shards

ROOT = test_shards.ROOT


def every_test_file():
    found = set()
    for top in ("services", "einspection", "tests"):
        for path in glob.glob(os.path.join(ROOT, top, "**", "test_*.py"), recursive=True):
            relative = os.path.relpath(path, ROOT)
            if not relative.startswith(os.path.join("tests", "faults")):
                found.add(relative)
    return found


def files_of(paths):
    files = []
    for path in paths:
        if path.endswith(".py"):
            files.append(path)
        else:
            files += sorted(os.path.relpath(p, ROOT) for p in glob.glob(
                os.path.join(ROOT, path, "**", "test_*.py"), recursive=True))
    return files


def test_every_test_file_is_in_exactly_one_shard_whatever_the_count():
    for count in (1, 2, 3, 5):
        shards = test_shards.deal(test_shards.units(), count, {})
        files = [f for shard in shards for f in files_of(shard["paths"])]
        assert sorted(files) == sorted(every_test_file()), count
        assert len(shards) <= count


def test_the_demo_is_checked_before_its_examples_run_in_the_same_session():
    for count in (1, 3, 8):
        for shard in test_shards.deal(test_shards.units(), count, {}):
            if "tests/test_docs.py" in shard["paths"]:
                paths = shard["paths"]
                assert paths.index("tests/test_demo.py") == paths.index("tests/test_docs.py") - 1


def test_the_longest_files_go_to_different_shards():
    seconds = {"tests/test_web.py": 300, "tests/test_openapi.py": 300, "tests/test_run.py": 300}
    shards = test_shards.deal(test_shards.units(), 3, seconds)
    for shard in shards:
        assert sum(path in seconds for path in shard["paths"]) == 1


def test_make_chaos_runs_every_fault_test_file_once_and_the_stream_tests_in_one_session():
    expected = sorted(os.path.relpath(p, ROOT) for p in glob.glob(
        os.path.join(ROOT, "tests", "faults", "test_*.py")))
    for count in (1, 2, 4):
        shards = test_shards.deal(test_shards.units(faults=True), count, {})
        assert sorted(f for shard in shards for f in shard["paths"]) == expected
        streaming = [shard for shard in shards
                     if "tests/faults/test_broker_restart.py" in shard["paths"]]
        assert all(name in streaming[0]["paths"] for name in test_shards.FAULTS_TOGETHER[0])


def test_each_units_seconds_are_summed_from_the_shards_junit_reports(tmp_path):
    report = tmp_path / "shard-1.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.test_web" name="a" time="2.5"/>'
        '<testcase classname="tests.test_web" name="b[postgres]" time="1.5"/>'
        '<testcase classname="services.scoring.unit.test_rules" name="c" time="0.25"/>'
        '<testcase classname="services.scoring.integration.test_replay" name="d" time="4"/>'
        '<testcase classname="einspection.tests.unit.test_bus" name="e" time="1"/>'
        '</testsuite></testsuites>')
    seconds = test_shards.measured_seconds([str(report), str(tmp_path / "shard-2.xml")])
    assert seconds == {"tests/test_web.py": 4.0, "services/scoring": 4.25, "einspection": 1.0}
