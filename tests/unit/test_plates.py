import pytest
from hypothesis import given
from hypothesis import strategies as st

from parkingdone import plates


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ABC-123", "ABC123"),
        ("abc 123", "ABC123"),
        ("  abc\t-\u2013 123 ", "ABC123"),
        ("ＡＢＣ１２３", "ABC123"),  # full-width input from some handhelds
        ("äöå-1", "ÄÖÅ1"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert plates.normalise(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "--", "ABC/123", "ABC.123", "A" * 16, "AB<script>"])
def test_normalise_rejects(raw: str) -> None:
    with pytest.raises(plates.InvalidPlate):
        plates.normalise(raw)


def test_skeleton_folds_confusables() -> None:
    assert plates.skeleton("OIBSZ") == "01852"
    assert plates.skeleton("ABC123") == "A8C123"
    assert plates.confusable("B0S123", "8O5123")
    assert not plates.confusable("ABC123", "ABC124")


_plate_chars = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_plates = st.lists(_plate_chars, min_size=1, max_size=plates.MAX_PLATE_LENGTH).map("".join)


@given(_plates, st.lists(st.sampled_from([" ", "-", ""]), min_size=1, max_size=3))
def test_separators_and_case_never_matter(plate: str, seps: list[str]) -> None:
    half = len(plate) // 2
    decorated = plate[:half].lower() + "".join(seps) + plate[half:]
    assert plates.normalise(decorated) == plate


@given(_plates)
def test_normalise_is_idempotent_and_skeleton_is_stable(plate: str) -> None:
    once = plates.normalise(plate)
    assert plates.normalise(once) == once
    assert plates.skeleton(plates.skeleton(once)) == plates.skeleton(once)
    assert len(plates.skeleton(once)) == len(once)
