"""The entries benchmark checks every entry up to its cap and every k-th above it."""

from devstack.bench_entries import check_every


def test_checks_stay_at_or_below_the_cap():
    assert check_every(20, 20) == 1
    assert check_every(40, 20) == 2
    assert check_every(50, 20) == 3  # 50 / 3 = 16.7 checks/s
    assert check_every(60, 0) == 1  # no cap: every entry
    for rate in range(1, 200):
        assert rate / check_every(rate, 20) <= 20
