"""What the benchmarks compute from what they read: the emulator's log (invocations, the
session trigger's time per handler), /proc (the CPU account) and their own sends."""

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


def test_each_process_of_the_stack_is_put_to_its_part():
    from devstack.benchlib import component_of

    assert component_of("python3 venv/bin/functions-framework", "webhook", False) == (
        "function webhook"
    )
    assert component_of("java -jar cloud-firestore-emulator.jar", None, False) == (
        "Firestore emulator"
    )
    assert component_of("java -jar pubsub-emulator.jar", None, False) == "Pub/Sub emulator"
    assert component_of("node node_modules/.bin/firebase emulators:exec", None, False).startswith(
        "firebase-tools"
    )
    assert component_of("python -m devstack.bench_entries", None, True) == "benchmark senders"
    assert component_of("python -m devstack.fcm_recorder", None, False) == "other"


def test_cpu_between_two_samples_counts_new_processes_in_full_and_reused_pids_afresh():
    from devstack.benchlib import CLOCK_TICKS, used_between

    before = {1: ("Firestore emulator", 1000), 2: ("function webhook", 50), 3: ("other", 7)}
    after = {
        1: ("Firestore emulator", 1000 + 2 * CLOCK_TICKS),
        2: ("function api", 30),  # the pid of an ended webhook worker, reused
        4: ("function webhook", CLOCK_TICKS),  # started during the step
    }
    used = used_between(before, after)
    assert used == {
        "Firestore emulator": 2.0,
        "function api": 30 / CLOCK_TICKS,
        "function webhook": 1.0,
    }


def test_the_cpu_account_takes_a_quiet_stacks_use_off_and_names_the_ceiling(monkeypatch):
    from devstack import benchlib

    monkeypatch.setattr(benchlib.os, "cpu_count", lambda: 2)
    used = {"function webhook": 3.0, "Firestore emulator": 2.5, "other": 0.1}
    idle = {"Firestore emulator": 0.05, "other": 0.01}
    lines = benchlib.cpu_account(used, 10.0, 200, 1.1, idle)
    # Firestore: 2.5 - 0.05 * 10 = 2.0 s; other: 0.1 - 0.1 = 0; webhook 3.0 s: 5.0 s for 200.
    assert lines[0].startswith("CPU: 1.10 of 2 cores busy while sending; 25.0 ms per entry")
    assert "15.0 of it in our functions" in lines[0]
    assert "carry at most 80 entries/s" in lines[0]
    assert [line.split("ms")[0].strip() for line in lines[1:]] == ["15.0", "10.0"]
    assert benchlib.cpu_account({}, 10.0, 0, 0.0) == ["CPU: not measured"]


def test_the_stack_is_found_under_the_launcher_and_the_machine_counts_otherwise(tmp_path):
    """A fake /proc: the benchmark (pid 30) under firebase-tools (20) under the launcher
    (10); pid 99 belongs to something else on the machine."""
    import os

    from devstack.benchlib import CpuUse

    me = os.getpid()

    def process(pid, parent, cmdline, ticks, target=None):
        d = tmp_path / str(pid)
        d.mkdir()
        d.joinpath("stat").write_text(
            f"{pid} (x y) S {parent} 0 0 0 0 0 0 0 0 0 {ticks} 0 0 0 0 0 0 0\n"
        )
        d.joinpath("cmdline").write_bytes(cmdline.replace(" ", "\0").encode())
        env = f"FUNCTION_TARGET={target}\0" if target else "HOME=/\0"
        d.joinpath("environ").write_bytes(env.encode())

    process(10, 1, "python -m devstack.benchrun entries", 5)
    process(20, 10, "node firebase emulators:exec", 100)
    process(21, 20, "python functions-framework", 40, target="webhook")
    process(me, 20, "python -m devstack.bench_entries", 3)
    process(99, 1, "postgres", 500)
    sample = CpuUse(tmp_path).sample()
    assert sorted(sample) == sorted([10, 20, 21, me])
    assert sample[21] == ("function webhook", 40)
    assert sample[me] == ("benchmark senders", 3)

    (tmp_path / "20").joinpath("cmdline").write_bytes(b"bash\0")  # no emulators above us
    assert 99 in CpuUse(tmp_path).sample()


def test_the_rate_taken_is_the_offered_one_while_the_senders_keep_up():
    from devstack.bench_entries import Step

    step = Step(rate=50, duration=20, first_due=1000.0)
    # 1,000 entries due over 19.98 s: sent on time, the offered rate.
    assert abs(step.taken_rate(1000.0 + 999 / 50) - 50) < 1e-9
    # The last one sent 12.5 s late: 999 intervals over 32.48 s.
    assert abs(step.taken_rate(1000.0 + 999 / 50 + 12.5) - 999 / 32.48) < 1e-9
    assert step.taken_rate(999.0) == 0.0


def test_the_machine_reference_is_a_cpu_time_in_milliseconds():
    from devstack.benchlib import machine_reference_ms

    taken = machine_reference_ms(rounds=1)
    assert 1 < taken < 60_000
