"""The entries benchmark checks every entry up to its cap and every k-th above it."""

from devstack.bench_entries import check_every, trigger_fell_behind


def test_checks_stay_at_or_below_the_cap():
    assert check_every(20, 20) == 1
    assert check_every(40, 20) == 2
    assert check_every(50, 20) == 3  # 50 / 3 = 16.7 checks/s
    assert check_every(60, 0) == 1  # no cap: every entry
    for rate in range(1, 200):
        assert rate / check_every(rate, 20) <= 20


def test_a_step_whose_trigger_fell_behind_is_not_steady():
    # The 70/s step of a run: 830 of 1,400 begun by the last send, caught up 3.3 s later.
    assert trigger_fell_behind(1400, 830, 70)
    # In flight at the instant of the last send, not a backlog.
    assert not trigger_fell_behind(1200, 1200, 60)
    assert not trigger_fell_behind(1200, 1150, 60)
    assert trigger_fell_behind(1200, 1139, 60)
