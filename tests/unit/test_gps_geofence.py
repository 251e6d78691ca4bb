from hypothesis import given
from hypothesis import strategies as st

from parkingdone.ingest.gps import distance_to_edge, inside, plausible

# The demo Kamppi block: about 250 m east-west, 280 m north-south.
FENCE = [(60.1700, 24.9300), (60.1700, 24.9345), (60.1675, 24.9345), (60.1675, 24.9300)]


def test_inside_and_outside() -> None:
    assert inside(60.1690, 24.9320, FENCE)
    assert not inside(60.1710, 24.9320, FENCE)
    assert not inside(60.1690, 24.9290, FENCE)


def test_distance_to_edge_in_metres() -> None:
    # 0.0009 degrees of latitude north of the north edge is about 100 m.
    assert 95 < distance_to_edge(60.1709, 24.9320, FENCE) < 105
    assert distance_to_edge(60.1700, 24.9320, FENCE) < 1


def test_accuracy_allows_points_near_the_fence() -> None:
    near_outside = (60.17018, 24.9320)  # ~20 m north of the fence
    assert not plausible("enter", *near_outside, 10, FENCE)
    assert plausible("enter", *near_outside, 30, FENCE)
    deep_inside = (60.1688, 24.9322)
    assert not plausible("exit", *deep_inside, 50, FENCE)
    assert plausible("exit", *deep_inside, 200, FENCE)
    assert plausible("exit", 60.1800, 24.9320, 5, FENCE)


@given(st.floats(60.1676, 60.1699), st.floats(24.9301, 24.9344))
def test_every_interior_point_is_an_enter(lat: float, lng: float) -> None:
    assert inside(lat, lng, FENCE)
    assert plausible("enter", lat, lng, 1, FENCE)
