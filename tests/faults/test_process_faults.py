"""Processes stopped mid-stream (8 clients posting hazards), then started
again as a process manager would:

- SIGTERM of each back-end service in turn: each finishes its work in
  flight and exits 0; nothing is acked that was not done, so every request
  is answered 201 and stored, published and projected once;
- kill -9 of each service in turn, then of the hazard service three times in
  a row: nothing answered 201 is lost or doubled.
"""
import os
import signal
import time

from .harness import HazardStream, Tap, assert_nothing_lost_or_doubled, report, settle, statuses

SIGTERMED = ("hazard", "checklist", "scoring", "notify", "enforcement")
KILLED = ("hazard", "checklist", "scoring", "notify", "enforcement", "gateway", "hazard", "hazard",
          "hazard")


def stop_and_start(platform, key, sig):
    """Signal the process, wait for it to exit, start it again; returns
    (exit status, seconds it took to exit)."""
    process = platform.processes[key]
    began = time.monotonic()
    os.killpg(process.pid, sig)
    code = process.wait(60)
    took = time.monotonic() - began
    platform.restart_service(key)
    return code, took


def faults_through(platform, stream, keys, sig, every):
    """Each of `keys` in turn, one every `every` answers; returns what each did."""
    done = []
    for n, name in enumerate(keys, start=1):
        stream.wait_for(every * n, timeout=300)
        code, took = stop_and_start(platform, name + "-0", sig)
        done.append((name, code, round(took, 1)))
    platform.wait_consuming()
    return done


def test_sigterm_of_each_service_under_load_finishes_in_flight_work(streaming):
    platform = streaming
    tap = Tap(platform)
    stream = HazardStream(platform, 720, clients=8).start()
    stopped = faults_through(platform, stream, SIGTERMED, signal.SIGTERM, every=120)
    stream.wait(timeout=600)
    counted = settle(platform, stream, tap)
    report("SIGTERM of %s" % ", ".join(SIGTERMED), counted,
           exits=["%s rc %s in %ss" % each for each in stopped],
           slowest_answer="%.1fs" % max(o.seconds for o in stream.outcomes.values()))
    assert all(code == 0 for _, code, _ in stopped), stopped
    assert stream.statuses() == {201: 720}, statuses(stream.outcomes.values())
    assert_nothing_lost_or_doubled(counted)
    platform.require_alive()


def test_kill_9_of_each_service_and_again_in_a_row_loses_and_doubles_nothing(streaming):
    platform = streaming
    tap = Tap(platform)
    stream = HazardStream(platform, 2000, clients=8).start()     # a few thousand
    killed = faults_through(platform, stream, KILLED, signal.SIGKILL, every=200)
    stream.wait(timeout=600)
    counted = settle(platform, stream, tap)
    report("kill -9 of %s" % ", ".join(KILLED), counted,
           killed=["%s rc %s" % each[:2] for each in killed])
    platform.require_alive()
    assert_nothing_lost_or_doubled(counted)
