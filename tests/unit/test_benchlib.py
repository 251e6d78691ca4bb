"""The benchmarks read the session trigger's time per handler from the emulator's log."""

from devstack.benchlib import Invocations


def test_handler_times_come_from_the_dispatched_lines_after_the_start(tmp_path):
    log = tmp_path / "firebase-debug.log"
    before = '[info] >  {"ms": {"charge": 999.0}, "message": "sessions.dispatched"}\n'
    log.write_text(before)
    counter = Invocations(log)
    with log.open("a") as f:
        f.write(
            '[info] >  {"severity": "INFO", "sessionId": "s1", "busy": false, '
            '"ms": {"entry_push": 95.5, "figures": 70.1}, "message": "sessions.dispatched"} '
            '{"user": {"ms": {"entry_push": 95.5}}}\n'
            '[debug] [2026-11-28T10:00:00.000Z] [functions] Finished "x" in 3ms\n'
            '[info] >  {"severity": "INFO", "ms": {"charge": 265.0}, '
            '"message": "sessions.dispatched"}\n'
            '[info] >  {"broken": \n'
        )
    assert counter.handler_ms() == {"entry_push": [95.5], "figures": [70.1], "charge": [265.0]}


def test_the_log_is_still_read_after_another_stack_deleted_it(tmp_path):
    """firebase-tools deletes firebase-debug.log when a stack exits cleanly; a stack still
    running keeps writing to the file it opened, and the count goes on reading it."""
    log = tmp_path / "firebase-debug.log"
    with log.open("a", buffering=1) as emulator:
        emulator.write('[info] i  functions: Beginning execution of "europe-west1-webhook"\n')
        counter = Invocations(log)
        log.unlink()
        emulator.write('[info] i  functions: Beginning execution of "europe-west1-webhook"\n')
        emulator.write('[info] i  functions: Finished "europe-west1-webhook" in 3ms\n')
        begun, finished = counter.per_function()
    assert begun == {"webhook": 1} and finished == {"webhook": 1}


def test_a_failed_or_timed_out_invocation_counts_as_ended(tmp_path):
    """The emulator logs no "Finished" line for an invocation whose request failed or timed
    out: waiting for every begun invocation to finish must not wait for those for ever."""
    log = tmp_path / "firebase-debug.log"
    log.write_text(
        '[info] i  functions: Beginning execution of "europe-west1-sessionWritten"\n'
        '[info] i  functions: Beginning execution of "europe-west1-figuresPump"\n'
        '[info] i  functions: Beginning execution of "europe-west1-webhook"\n'
        '[info] i  functions: Finished "europe-west1-sessionWritten" in 12ms\n'
        "[error] Request to function failed: Error: socket hang up\n"
        "[error] Your function timed out after ~300s. To configure this timeout, see\n"
    )
    counter = Invocations(log, from_start=True)
    begun, ended = counter._scan()
    assert sum(begun.values()) == 3 and ended == 3
    counter.wait_quiet(quiet=0.1, timeout=5)  # returns: nothing is still running
