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


# Cross-script look-alikes: the same plate whichever keyboard or camera wrote it.
_CYRILLIC = str.maketrans("ABCEHKMOPTXY", "АВСЕНКМОРТХУ")
_GREEK = str.maketrans("ABEZHIKMNOPTYX", "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ")
_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize(
    ("raw", "expected", "shown"),
    [
        ("АВС-123", "ABC123", "ABC-123"),  # Cyrillic А, В, С
        ("авс 123", "ABC123", "ABC-123"),  # lower-case Cyrillic
        ("ΑΒΕ-123", "ABE123", "ABE-123"),  # Greek
        ("ABC-١٢٣", "ABC123", "ABC-123"),  # Arabic-Indic digits
        ("ABC-۱۲۳", "ABC123", "ABC-123"),  # Extended Arabic-Indic digits
        ("ＡＢＣ－１２３", "ABC123", "ABC-123"),  # full-width, as some handhelds send
        ("abc 123", "ABC123", "ABC-123"),
        ("äöå-1", "ÄÖÅ1", "ÄÖÅ-1"),
    ],
)
def test_scripts_fold_onto_one_plate_and_one_display(raw: str, expected: str, shown: str) -> None:
    assert plates.normalise(raw) == expected
    assert plates.display(raw, expected) == shown


def test_cyrillic_and_latin_look_alikes_share_a_skeleton() -> None:
    assert plates.confusable(plates.normalise("ВОС-123"), plates.normalise("80C-123"))


@pytest.mark.parametrize("raw", ["-" * 3000 + "A1", " " * 40 + "ABC", "A" * 33])
def test_raw_text_is_bounded(raw: str) -> None:
    with pytest.raises(plates.InvalidPlate, match="at most"):
        plates.normalise(raw)
    assert plates.display(raw, "fallback") == "fallback"


@given(_plates, st.sampled_from([_CYRILLIC, _GREEK, _ARABIC_INDIC]))
def test_look_alike_scripts_never_make_another_plate(plate: str, script: dict) -> None:
    assert plates.normalise(plate.translate(script)) == plates.normalise(plate)


@given(st.text(max_size=60))
def test_any_text_is_a_plate_or_invalid_plate(raw: str) -> None:
    try:
        plate = plates.normalise(raw)
    except plates.InvalidPlate:
        return
    assert 1 <= len(plate) <= plates.MAX_PLATE_LENGTH and plate.isalnum()
    assert plates.normalise(plate) == plate
    assert plates.normalise(plates.display(raw, plate)) == plate
