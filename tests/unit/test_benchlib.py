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
