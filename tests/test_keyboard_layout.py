"""Persian typed on the English layout is read back as Persian; English and Finglish are not."""

import pytest

from bots.keyboard_layout import restored
from bots.triage import Triage


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("svl nvn ld;ki", "سرم درد میکنه"),
        ("ffoadn fhfhl ktsa kld;ai", "ببخشید بابام نفسش نمیکشه"),
        ("lvsd", "مرسی"),  # one word alone, when it is a common one
        ("k,chnl 2 lhiai", "نوزادم 2 ماهشه"),  # inflected words wordfreq lacks, read by their stems
        ("sorry wrong keyboard: ,hd svl nvn ld;ki", "sorry wrong keyboard: وای سرم درد میکنه"),
    ],
)
def test_a_layout_slip_is_read_back_as_persian(typed: str, meant: str) -> None:
    assert restored(typed) == meant


@pytest.mark.parametrize(
    "text",
    [
        "my chest hurts and I feel sick",
        "sineh-am dard mikone, nafasam bala nemiad",  # Finglish: no slip
        "im allergic to mondays ngl",  # one slang word amid English restores to a word by chance
        "kid pulled a pan off the hob, burns on his arm",
        "سرم درد میکنه",
    ],
)
def test_english_finglish_and_persian_are_left_as_they_are(text: str) -> None:
    assert restored(text) == text


def test_each_line_is_read_on_its_own() -> None:
    text = "sorry\nsvl nvn ld;ki"
    assert restored(text) == "sorry\nسرم درد میکنه"


def test_triage_reads_a_slip_as_the_persian_it_is() -> None:
    triage = Triage.shipped()
    hit = triage.check("fhfhl ktsa fhgh kldhn")  # بابام نفسش بالا نمیاد
    assert hit is not None
    assert triage.check("ktsl fhgh kldhn\nببخشید کیبورد انگلیسی بود") is not None
