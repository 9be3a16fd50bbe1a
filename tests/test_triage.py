"""Medical triage on sets written by helpers who never read the rules (tests/data/briefs/).

The dev split is what the rules were tuned on; its figures are asserted here so a change
that loses ground fails. They are asserted for the rules alone: the learned second opinion
(bots/triage_model.py) is trained on dev, so dev figures with it measure nothing. The test
split is reported by ``bench/triage.py`` (and in the closing notes) and deliberately not
asserted: it is there to be measured, not fitted.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from bots import triage_words as words
from bots.triage import Triage, _shipped_data
from bots.triage_model import TriageModel, features

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parent.parent


def rows(split: str) -> list[dict]:
    text = (DATA / f"triage_{split}.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _routed(turns: list[str], triage: Triage | None = None) -> str | None:
    """The category the turns are routed to: by the rules alone, unless a triage is given."""
    hit = (triage or Triage.rules_only()).check_conversation(turns)
    return hit.id if hit else None


def judged(triage: Triage, row: dict) -> bool:
    if "turns" in row:
        return any(triage.check_conversation(row["turns"][:k]) for k in range(1, len(row["turns"]) + 1))
    return triage.check(row["text"]) is not None


@pytest.mark.parametrize("triage", [Triage.rules_only(), Triage.shipped()], ids=["rules", "shipped"])
def test_the_dev_split_meets_the_bar(triage: Triage) -> None:
    dev = [row for row in rows("dev") if "text" in row]
    emergencies = [row for row in dev if row["label"] == "emergency"]
    lookalikes = [row for row in dev if row["label"] == "none"]
    assert len(emergencies) >= 150
    assert len(lookalikes) >= 150
    missed = [row["text"] for row in emergencies if not judged(triage, row)]
    alarms = [row["text"] for row in lookalikes if judged(triage, row)]
    assert len(missed) / len(emergencies) <= 0.03, missed
    crises = [row for row in emergencies if row["category"] == "self_harm"]
    crises_missed = [row["text"] for row in crises if not judged(triage, row)]
    # The shipped triage misses two crises of dev, both told beside a life event, which explains
    # farewells and things given away: a father's will and his pills gone "since he retired", and
    # everything given to the dorm's kids on "the last night" (another writer's look-alike says
    # goodbye to the dorm on its last night). The rules alone miss more (5.5% since V4 to H5 were
    # folded in, phone Finglish without vowels and self-harm hints among them; 4% before): hints
    # no lexicon reads ("gave my sister my guitar ... she thinks im just decluttering. im not",
    # "qrsa ro ba vodka xordm"), which the learned second opinion is there to catch.
    assert len(crises_missed) <= (0.06 * len(crises) if triage.model is None else 2), crises_missed
    assert len(alarms) / len(lookalikes) <= 0.06, alarms


@pytest.mark.parametrize("triage", [Triage.rules_only(), Triage.shipped()], ids=["rules", "shipped"])
def test_every_two_turn_emergency_of_the_dev_split_is_routed(triage: Triage) -> None:
    conversations = [row for row in rows("dev") if "turns" in row]
    assert len(conversations) >= 20
    emergencies = [row for row in conversations if row["label"] == "emergency"]
    missed = [row["turns"] for row in emergencies if not judged(triage, row)]
    # the shipped triage routes all but eight of 2538: five take-backs whose first turn the writer
    # labeled an alarm and the next turn explains away, not read as one ("my son swallowed
    # something from my purse", then "it was a mint"; "opened the vitamin bottle, I think he ate
    # some", then "found them all": vitamins are harmless pills here, and the take-back, once
    # routed as a second alarm, is now read as one); and three whose decisive fact the rules do
    # not read: a baby's age said as "3 hafte shode be donya oumade" or "6 hafte-she" after the
    # fever, and a positive pregnancy test told after one-sided pain; the rules alone all but about five in
    # a hundred (36 of 738 since V4 to H5, whose decisive fact often arrives late in phone Finglish;
    # 61 of 1194 with the A6 to N6 sets, whose build-ups were written to hide the decisive fact)
    assert len(missed) <= (0.055 * len(emergencies) if triage.model is None else 8), missed


def test_a_later_turn_that_takes_back_an_alarm_is_not_routed_again() -> None:
    triage = Triage.shipped()
    scare = "my 2 year old got into my iron pills, the bottle is open and he has some in his mouth"
    assert triage.check_conversation([scare]) is not None
    found = "found them all under the sofa, counted them, none missing, thank god"
    assert triage.check_conversation([scare, found]) is None
    # the pills counted and none gone is a take-back, in any of its words
    scare = "pesaram ye mosht ghors khorde, dahanesh por-e"
    assert triage.check_conversation([scare]) is not None
    assert triage.check_conversation([scare, "na vaysa, ghors tu dastesh bud, shemordam hamash sar jashe"]) is None
    # never a crisis, nor someone not breathing: a latest turn that still carries them is routed
    farewell = "gave my guitar to my brother, I won't be around much longer, goodbye everyone"
    hit = triage.check_conversation([farewell, "jk lol. honestly though I want to kill myself"])
    assert hit is not None
    assert hit.id == "self_harm"
    still = "thank god the ambulance is here, she is still not breathing"
    hit = triage.check_conversation(["grandma is not breathing", still])
    assert hit is not None
    assert hit.id == "not_breathing"
    # over dev: conversations whose later turn takes back the alarm are rarely routed again
    labeled = [(row["turns"], row.get("turn_labels", [])) for row in rows("dev") if "turns" in row]
    take_backs = [turns for turns, lab in labeled if "emergency" in lab and "none" in lab[lab.index("emergency") :]]
    assert len(take_backs) >= 20
    again = [t for t in take_backs if triage.check_conversation(t) is not None]
    assert len(again) <= 0.2 * len(take_backs), again


def test_the_sets_cover_every_category_in_every_language() -> None:
    cells = {(row["category"], row["lang"]) for split in ("dev", "test") for row in rows(split) if "text" in row}
    categories = {category.id for category in Triage.shipped().categories}
    assert {c for c, _ in cells} == categories
    assert all((c, lang) in cells for c in categories for lang in ("en", "fa", "finglish"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # an intensifier, an inflection, a determiner, a count, a typo, a phone apostrophe
        ("درد خیلی بد قفسه سینه دارم و عرق سرد کردم", "cardiac"),
        ("I keep thinking about ending my life", "self_harm"),
        ("my son swallowed a little bleach", "poisoning"),
        ("I just took 30 of my sleeping pills", "poisoning"),
        ("my dad is chokng on a grape, he cant speak", "choking"),
        ("I can’t breathe and my lips are going blue", "breathing"),
        # formal and spoken Persian, Finglish
        ("می‌خواهم خودم را بکشم", "self_harm"),
        ("میخوام خودمو بکشم", "self_harm"),
        ("sineh-am dard mikone va aragh sard kardam", "cardiac"),
        ("nafasam bala nemiad", "breathing"),
        # negation scoped to what it governs
        ("no fever, but I can't breathe", "breathing"),
        ("I do not have any chest pain or shortness of breath", None),
        ("درد سینه ندارم", None),
        ("بابام خونه نیست و درد قفسه سینه دارم و عرق کردم", "cardiac"),
        # framing lowers a match to information, but not first-person self-harm or "not breathing now"
        ("What are the warning signs of a stroke?", None),
        ("In my novel the hero overdoses on pills", None),
        ("I had a heart attack last year, what should I eat?", None),
        ("what are the signs of depression? I want to kill myself", "self_harm"),
        ("what do I do, my dad is not breathing now", "not_breathing"),
        # figurative
        ("this exam is killing me", None),
        ("دارم از خنده میمیرم", None),
    ],
)
def test_phrasings_nobody_wrote_a_rule_for(text: str, expected: str | None) -> None:
    hit = Triage.shipped().check(text)
    assert (hit.id if hit else None) == expected


def test_symptoms_over_two_turns_are_judged_together() -> None:
    triage = Triage.rules_only()  # the rules' own reading over turns (the model is asked per turn too)
    first = "my chest has felt tight since lunch"
    assert triage.check_conversation([first]) is None
    hit = triage.check_conversation([first, "now I'm sweating and my left arm is numb"])
    assert hit is not None
    assert hit.id == "cardiac"


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        # the Arabic decimal separator, and a bare answer turn said of the turns before it
        (["بچه‌ام داغه", "۳۸٫۵", "۵ هفته"], "infant_fever"),
        # a birth dated by its month reads through its history cue; the fever beside it does not
        (["our wee one was born on the 3rd of last month", "she's feeling hot, 38.3, is calpol ok?"], "infant_fever"),
        (["my son was born last month, last week he had a fever of 38 but it is gone now"], None),
        # dots in a row are a pause, not a full stop
        (["nafas.. nemitoonam.. harf bezanam.. komak"], "breathing"),
        # air still moving past what is stuck
        (["pill feels stuck in my throat, can breathe and talk fine, just annoying"], None),
        # the week said before its number, then the waters leaking
        (["zanam hafte 29 hast", "az sobh ye abe roshan azash mire, alan ye kam khooni shode"], "pregnancy"),
        # an electric shock, then a burn mark, over turns
        (
            [
                "electrician at my brother's site got zapped",
                "he's up and talking, but there's a black mark on his palm",
            ],
            "burns",
        ),
        # a character's line in a story is not the writer's crisis; the writer's own still is
        (["my character in my book wants to end it all, how do I write that sensitively?"], None),
        (["writing my novel but honestly i want to end it all"], "self_harm"),
    ],
)
def test_this_rounds_readings(turns: list[str], expected: str | None) -> None:
    assert _routed(turns) == expected


def test_a_no_before_a_take_back_with_its_own_negative_answers() -> None:
    triage = Triage.shipped()
    scare = "bacham ye mosht ghors khorde"
    assert triage.check_conversation([scare]) is not None
    back = "na na, ghors nabud, smarties bud ke tu ghooti-ye ghors-e man rikhte budam"
    assert triage.check_conversation([scare, back]) is None


def test_an_idiom_the_rules_read_leaves_the_model_nothing_to_add() -> None:
    triage = Triage.shipped()
    assert triage.check("khodamo koshtam ta in project tamoom she, hala rais mige kafi nist") is None
    assert triage.denies(["khodamo koshtam ta in proje tamum she"])
    # the rules' own crisis words still route beside it
    hit = triage.check("khodamo koshtam ta in proje tamum she, dige nemikesham, emshab ghorsa ro mikhoram")
    assert hit is not None
    assert hit.id == "self_harm"


def test_an_emergency_already_routed_is_not_raised_again_by_an_unrelated_turn() -> None:
    triage = Triage.shipped()
    turns = ["I have crushing chest pain and I'm sweating", "ok the ambulance is here, thanks"]
    assert triage.check_conversation(turns) is None


def test_a_huge_message_is_read_in_one_pass() -> None:
    # Not a timing test: the rules are dictionary lookups and bounded scans, so a
    # 100,000-character message is simply read (bench/triage.py prints the time).
    hit = Triage.shipped().check("I feel fine today. " * 5000 + "I can't breathe")
    assert hit is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a story that closed, then an emergency now
        ("He had a seizure last year and was discharged. He is not breathing.", "not_breathing"),
        ("Two years ago she had a heart attack and has recovered. She has crushing chest pain and is sweating.",
         "cardiac"),
        ("My son had surgery in 2022 and the scan was clear. He swallowed a battery.", "poisoning"),
        # "of" before a count is no temperature
        ("I swallowed upwards of 60 paracetamol", "poisoning"),
        ("I took a total of 50 paracetamol", "poisoning"),
        # English is never read as Finglish typed without vowels
        ("bleeding gums and fever", None),
        ("my gums bleed a bit and I have a fever", None),
        # and Finglish typed without vowels still is
        ("dige nmikham zende bashm emshab tmoomesh mikonm", "self_harm"),
        ("nfsm bala nmiad nmitunm hrf bznm", "breathing"),
        # the self-harm signs read on their consonants in any message, only as their own words
        ("dge tmome, dge nmitunm", "self_harm"),
        ("az 4 tabaghe pele raftam bala nafasam band oomad lol kheili bi tamrinam", None),
        # warning signs that combine: at the place now and another sign; a note left and a farewell
        ("roo pol vaysadam, dige tars nadaram", "self_harm"),
        ("I wrote a note and left it on the table. goodbye everyone", "self_harm"),
        # a drug named for what it treats, a year written short
        ("my anti-seizure pills ran out, where is a pharmacy open at night", None),
        ("مادرم سال ۹۷ سکته مغزی کرد، الان خوبه", None),
    ],
)  # fmt: skip
def test_what_a_second_reading_found(text: str, expected: str | None) -> None:
    hit = Triage.shipped().check(text)
    assert (hit.id if hit else None) == expected


def test_the_learned_second_opinion_is_loaded_and_used() -> None:
    shipped, rules = Triage.shipped(), Triage.rules_only()
    assert shipped.model is not None
    assert rules.model is None
    # inference is numpy and the standard library (in a fresh process: other tests may import anything)
    probe = (
        "from bots.triage import Triage; Triage.shipped().check('chest pain'); "
        "import sys; print('sklearn' in sys.modules)"
    )
    assert (
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )
    # a stable hash: the shipped weights stay valid across runs, machines and Pythons
    grams = ["c a", "cab", "cb ", "c ab", "cab ", "c ab ", "wab"]  # padded character 2-5-grams, the word
    expected = {zlib.crc32(g.encode()) & (2**18 - 1): 1 / len(grams) ** 0.5 for g in grams}
    assert features("AB", 18) == pytest.approx(expected)
    # it adds what the rules miss (a dev message: a two-year-old swallowed a coin and cannot
    # breathe, in formal Persian the rules do not read) ...
    missed_by_rules = "کودک دو ساله‌ام یک سکه بلعیده و نمی‌تواند نفس بکشد."
    assert rules.check(missed_by_rules) is None
    assert shipped.check(missed_by_rules) is not None
    # ... and drops a rule hit it finds very unlikely
    normal = "this cafeteria food is slowly poisoning me i swear"
    assert rules.check(normal) is not None
    assert shipped.check(normal) is None


def test_the_second_opinion_never_drops_self_harm_nor_a_long_message() -> None:
    model = TriageModel.shipped()
    vetoes_all = Triage(_shipped_data(), dataclasses.replace(model, veto=1.01))
    assert vetoes_all.check("I have crushing chest pain and I'm sweating") is None
    hit = vetoes_all.check("I want to kill myself tonight")
    assert hit is not None
    assert hit.id == "self_harm"
    assert vetoes_all.check("I feel fine today. " * 100 + "I can't breathe") is not None
    adds_all = Triage(_shipped_data(), dataclasses.replace(model, add=0.0))
    added = adds_all.check("hello there")
    assert added is not None
    assert added.id in {"emergency", "self_harm"}


def test_the_self_harm_head_adds_a_crisis_hit_below_the_emergency_threshold() -> None:
    model = TriageModel.shipped()
    assert model.add_self_harm < model.add
    only_self_harm = Triage(
        _shipped_data(), dataclasses.replace(model, add=1.01, add_self_harm=0.0, self_harm_floor=0.0)
    )
    hit = only_self_harm.check("hello there")
    assert hit is not None
    assert hit.id == "self_harm"
    never_adds = Triage(_shipped_data(), dataclasses.replace(model, add=1.01, add_self_harm=1.01))
    assert never_adds.check("hello there") is None


def test_a_song_quoted_lowers_first_person_words_for_the_rules() -> None:
    # (the self-harm head may still add it: a crisis-line message is the cheaper mistake)
    assert Triage.rules_only().check("what's the song that goes 'I want to die tonight'?") is None
    assert Triage.rules_only().check("I want to die tonight") is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # someone who cannot be reached, after a farewell: a crisis told by the one who worries
        ("my roommate sent a goodbye text last night and her phone is switched off", "self_harm"),
        ("بابام برای همه پیام خداحافظی فرستاده و درو قفل کرده", "self_harm"),
        ("dadasham khodahafezi karde va gushish khamushe", "self_harm"),
        # being unreachable said twice is one sign, not two
        ("my son locked his door and won't answer me, he's playing games again", None),
        ("my sister is not picking up, she's at work", None),
        # telling for no reason one can name, with a means or a place
        ("I'm on the bridge. idk why I'm writing this", "self_harm"),
        ("idk why I'm telling you this but I love pizza", None),
        # on a height now, looking down from it
        ("I'm on the rooftop right now, looking down at the street", "self_harm"),
        ("alan roo posht bum am, daram paeeno negah mikonam", "self_harm"),
        ("the view from the roof is nice, looking down at the city lights", None),
        # a social-media story is no fiction; a story written is
        ("he posted 'sorry for everything' on his story and isn't answering", "self_harm"),
        ("I wrote a story where the character says goodbye and leaves", None),
        # things given away by someone else, and a farewell
        ("my dad gave away his stuff and texted me 'take care of mom'", "self_harm"),
        # hopeless about being alive, and a means bought
        ("خسته ام از زندگی، طناب خریدم", "self_harm"),
        # a dream, a trip, a teenage history, a figure of speech
        ("I dreamt my dad had a stroke", None),
        ("دیشب خواب دیدم بابام سکته کرده", None),
        ("flying out tomorrow, said bye to everyone, what should I pack in my suitcase", None),
        ("I had a seizure as a teenager, can I drive?", None),
        ("this tax form is the worst headache of my life", None),
        ("worst headache of my life, came on suddenly", "thunderclap_headache"),
        # preeclampsia's signs; a heavy arm in Finglish
        ("she's 34 weeks pregnant with blurry vision and swollen hands", "pregnancy"),
        ("baba dast chapesh sangine, 5 daghighe", "stroke"),
    ],
)  # fmt: skip
def test_indirect_self_harm_and_what_explains_it_away(text: str, expected: str | None) -> None:
    hit = Triage.rules_only().check(text)
    assert (hit.id if hit else None) == expected


def test_chat_spelling_is_folded() -> None:
    assert words.fold("its not ur fault") == "its not your fault"
    assert words.fold("urgent, hour") == "urgent, hour"


def test_the_self_harm_head_adds_nothing_to_a_life_event() -> None:
    model = TriageModel.shipped()
    only_self_harm = Triage(
        _shipped_data(), dataclasses.replace(model, add=1.01, add_self_harm=0.0, self_harm_floor=0.0)
    )
    assert only_self_harm.check("hello there") is not None
    assert only_self_harm.check("flying to Rome tomorrow, what should I pack") is None
    assert only_self_harm.check_conversation(["hello", "moving to Berlin next week, any tips"]) is None
    # the emergency head still may: a seizure at a wedding is still a seizure
    adds_all = Triage(_shipped_data(), dataclasses.replace(model, add=0.0, add_self_harm=1.01))
    assert adds_all.check("at my sister's wedding grandpa will not wake up") is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # someone whose whereabouts are unknown, after a means named: out of reach
        ("my brother said he'd jump off the bridge and now nobody knows where he is", "self_harm"),
        ("خواهرم گفته میخواد از پل بپره، الان نمیدونیم کجاست", "self_harm"),
        ("I don't know where he is, he went to the store", None),
        # not wanting to stay alive, to wake up, no reason to stay: said in each language
        ("دیگه نمیخوام زنده بمونم", "self_harm"),
        ("dige nemikham bidar sham, ghorsa kenarame", "self_harm"),
        ("دیگه دلیلی برای زنده موندن ندارم", "self_harm"),
        # wanting to be free of this life, and a means
        ("میخوام خودمو از این زندگی خلاص کنم، طناب هم دارم", "self_harm"),
        # a blade hidden where someone sleeps, and a burden said
        ("found a razor under her pillow, she keeps saying nothing matters anymore", "self_harm"),
        ("cut my finger with a knife making dinner, it stopped bleeding", None),
        # a keepsake handed over for afterwards, and out of reach
        ("he gave me his watch, said he wants me to have it, and now he's not answering", "self_harm"),
        # a story's character who acts lowers even first-person words; a person now does not
        ("in my novel the main character wants to end it all, is that too dark?", None),
        ("فیلمی دیدم که قهرمانش خودکشی میکنه", None),
        ("I want to end it all tonight", "self_harm"),
        # a task one is worn out by is a figure of speech; a new job explains leaving
        ("this assignment makes me want to die", None),
        ("won't be around much longer here, I got a new job in Tehran", None),
    ],
)  # fmt: skip
def test_third_round_self_harm_signs_and_what_explains_them_away(text: str, expected: str | None) -> None:
    hit = Triage.rules_only().check(text)
    assert (hit.id if hit else None) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I had a seizure in 2018 and have been seizure-free on meds since. Can I drive again?", None),
        ("he is having a seizure right now and it won't stop", "seizure"),
        ("choked on my water earlier, coughed it all out, throat's a bit sore now", None),
        ("Three years ago I tried to end my life. Today I'm in therapy and doing well. Should I tell him?", None),
        ("I tried to kill myself last year and recovered. I think about doing it again.", "self_harm"),
        ("I tried to kill myself last year and recovered. Now I want to die", "self_harm"),
        ("daram khodamo ba fandak misuzunam nemitunam bas konam", "self_harm"),
        ("I burned myself on the stove, how do I treat a small burn", None),
    ],
)
def test_fourth_round_mechanisms(text: str, expected: str | None) -> None:
    """Absence said after the word ("seizure-free"), cues read past fillers ("coughed it all
    out"), a dated story that ended well lowers even a first-person crisis word unless a later
    sentence brings it back, and self-injury by burning now."""
    hit = Triage.rules_only().check(text)
    assert (hit.id if hit else None) == expected


def test_finglish_digits_and_signs_read_as_letters() -> None:
    assert words.fold("8orsaye mamanam") == "ghorsaye mamanam"
    assert words.fold("7amele am") == "hamele am"
    assert words.fold("$adid") == "shadid"
    # a digit before a unit or a clock word stays a number
    assert words.fold("at 8am, 8ish, $20") == "at 8am, 8ish, $20"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("when I saw him he was not breathing", "not_breathing"),
        ("my dad collapsed from exhaustion and is unconscious", "unconscious"),
        ("In 2020 I cut myself. I want to kill myself. I was discharged and doing well.", "self_harm"),
        ("yehu harf zadanesh normal nist va dastesh bi hes shode", "stroke"),
        ("could this be bells palsy, his face is drooping and his left arm is weak", "stroke"),
        ("my baby can't breathe, stuffy nose, and he is struggling to breathe", "breathing"),
        ("my 3 year old swallowed my sleeping pills, I counted them all and 10 are gone", "poisoning"),
    ],
)
def test_what_the_second_reading_of_the_fourth_round_found(text: str, expected: str) -> None:
    """An explanation never voids a sign said beside it: a figure of speech needs joy or
    excitement, a story lowers only the sentences that date or close it, "normal nist" is not
    normal, a question about a mimic is no diagnosis, "counted them" is no "none missing"."""
    hit = Triage.rules_only().check(text)
    assert hit is not None
    assert hit.id == expected


@pytest.mark.parametrize(
    "turns",
    [
        ["my daughter is having a seizure", "she is still seizing, it has been 6 minutes, thank god you answered"],
        ["my dad's face is drooping on one side", "turns out he can't lift his right arm either, speech slurred"],
    ],
)
def test_a_turn_that_says_the_emergency_again_is_not_a_take_back(turns: list[str]) -> None:
    assert Triage.shipped().check_conversation(turns) is not None


def test_what_the_v4_and_w4_round_reads() -> None:
    """Mechanisms of the V4/W4 round, each shown by a message (dev holds the writers' own)."""
    rules = Triage.rules_only()

    def verdict(text: str) -> str | None:
        hit = rules.check(text)
        return hit.id if hit else None

    # a turn that says it means it is no hypothetical
    assert verdict("what would happen if I took all my pills tonight?") is None
    assert verdict("what would happen if I took all my pills tonight? I'm not joking") is not None
    # ... but an emphatic "for real" keeps a song a song
    assert verdict("this song is fire for real, the lyrics 'I want to die tonight' hit so hard") is None
    # a common English word is not read as Finglish through an ending: "same" is no "sam" (poison)
    assert verdict("ok i overreacted, its my usual migraine, took my sumatriptan same as every month") is None
    assert verdict("pesaram sam khorde, sam e mush") == "poisoning"
    # $ inside a word is a letter
    assert words.fold("bo$am") == "bosham"
    # "took his clothes off" (dar avordam) ends no fever; "coughed it out" still ends a choking
    assert verdict("lebasasho dar avordam, damasho gereftam 38.3, 5 haftashe") == "infant_fever"
    assert verdict("he choked on a grape but coughed it out, he is talking") is None
    # a calm after distress, with a plan; a note for whoever finds me
    assert verdict("I know how and I know when. I feel so peaceful today") == "self_harm"
    assert verdict("Wanted it to be nice for whoever finds me") == "self_harm"
    # pills gathered into a weekly box are no stockpile (the poisoning rule still reads them)
    assert verdict("قرص‌های مامانم رو همه رو جمع کردم") == "self_harm"
    assert verdict("قرص‌های مامانم رو همه رو جمع کردم ریختم تو یه جعبه‌ی هفتگی که قاطی نکنه") != "self_harm"


def test_what_the_b5_round_reads() -> None:
    """Persian typed without spaces, single vowel-less words, a crisis said of someone else."""
    rules = Triage.rules_only()

    def verdict(text: str) -> str | None:
        hit = rules.check(text)
        return hit.id if hit else None

    # glued words are cut into the likeliest common words (wordfreq's Persian list) ...
    assert words.unglue("دردخیلی") == ("درد", "خیلی")
    assert words.unglue("نفسنمیکشه") == ("نفس", "نمیکشه")
    # ... but a word, or one with its endings, stays whole, and so does a word the lexicon writes
    assert words.unglue("دستشوییش") == ("دستشوییش",)
    assert words.unglue("آزمایشگاه") == ("آزمایشگاه",)
    assert verdict("۸هفته باردارم یه طرف شکمم دردخیلی شدیده سرگیجه دارم نزدیکه غش کنم") == "pregnancy"
    # a word with no vowel is read on its consonants even beside words that keep theirs
    assert words.voweless("dxtrm")
    assert not words.voweless("milk")
    assert verdict("bche 40 rozam tb krde 38.2, chikar knm") == "infant_fever"
    # a hamza typed inside a word: "علاءم" is علایم (a lesson's word)
    assert words.fold("علاءم") == "علایم"
    # "this time is different" is no lesson
    assert verdict("بابام صرع داره ولی این بار فرق داره، یه تشنج تموم میشه یکی دیگه شروع میشه، به هوش نمیاد")
    # a crisis read only on words someone else's collapse shares is that emergency; the writer's own stays a crisis
    assert verdict("my dad wont wake up, hes on the couch, i shook him and yelled") == "unconscious"
    assert verdict("i dont want to wake up tomorrow") == "self_harm"


def test_what_the_x4_to_a5_release_reads() -> None:
    """Conversations the rules missed on the sets released after their measurement."""
    rules = Triage.rules_only()

    def verdict(turns: list[str]) -> str | None:
        hit = rules.check_conversation(turns)
        return hit.id if hit else None

    # heartburn, then sweating and the jaw: not indigestion (three writers wrote it)
    assert (
        verdict(["been having some heartburn since dinner", "now it's going into my jaw and I'm drenched in sweat"])
        == "cardiac"
    )
    # a scald with the skin coming off over a large area
    hit = rules.check("it's across his whole chest and the skin is peeling off in sheets")
    assert hit is not None
    assert hit.id == "burns"
    # a strip of pills open, some gone, a child; a detergent pod and a foamy mouth
    assert (
        verdict(["my 3 year old was in the laundry room", "a dishwasher pod is open and his mouth is foamy"])
        == "poisoning"
    )
    # a word opening on two consonants is Finglish typed without vowels ("qrsaye" is ghorsaye)
    assert words.voweless("qrsaye")
    assert not words.voweless("pesaram")
    # "his sound stopped" is no bleeding that stopped
    assert (
        verdict(["پدربزرگم رو مبل خوابیده", "الان صداش قطع شده، سینه‌ش تکون نمیخوره، نبضشو پیدا نمیکنم"])
        == "not_breathing"
    )
    # "سرما خوردم" (caught a cold) is no blow to the head
    assert rules.check("سرما خوردم تب ۳۸ دارم و بدن درد، ولی هوشیارم و آب زیاد میخورم") is None


def test_what_the_second_reading_of_the_v4_to_h5_round_found() -> None:
    """Defects a helper who had not written the change found, each shown by a message."""
    rules = Triage.rules_only()

    def verdict(text: str) -> str | None:
        hit = rules.check(text)
        return hit.id if hit else None

    # a crisis term stays kept whatever else frames it
    assert verdict("I want to kill myself, what is the hotline number? I lost my new job today") == "self_harm"
    # the writer's own crisis stays a crisis beside someone else named
    assert verdict("I overdosed on purpose and my mom is at work") == "self_harm"
    assert verdict("my mom doesn't know, I took all my pills and I won't wake up") == "self_harm"
    # in a Finglish message a common English spelling may be Finglish ("same mush": rat poison)
    assert verdict("pesaram ye meghdar same mush khorde, dahanesh bu mide") == "poisoning"
    # the lexicon and the message read Finglish endings alike
    assert verdict("sine'am kheili dard mikone, aragh sard kardam") == "cardiac"
    # a typo of a lexicon word is not cut apart as glued words
    assert verdict("پسرم یه یادداشت خداحفظی گذاشته و رفته گوشیشم جواب نمیده کمک") == "self_harm"
    # an English word is never read on its consonants
    assert verdict("any good books for spouses of people with ADHD? my wife was diagnosed last month") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "neither ... nor" reads each verb negated, but "no no", "nine" and a correction are none of it
        ("پدرم روی مبل افتاده نه نفس میکشه نه نبض داره", "not_breathing"),
        ("babam na nafas mikeshe na nabz dare", "not_breathing"),
        ("نه نه ۳۰ تا قرص خوردم", "poisoning"),
        ("نه تا قرص خوردم، نه تا!", "poisoning"),
        ("na 30 ta ghors khordam na 3 ta", "poisoning"),
        ("نه نه نفس میکشه", None),
        # a trip frames its own sentence, and only self-harm's signs
        ("I'm going to the beach tonight to drown myself", "self_harm"),
        ("emshab miram shomal, ghorsamo jam kardam, khaste shodam", "self_harm"),
        ("going to canada next week, my toddler just drank bleach", "poisoning"),
        # laughing or crying never clears someone not breathing
        ("he was laughing so hard, then he stopped breathing", "not_breathing"),
        ("از گریه زیاد افتاد و الان نفس نمیکشه نبض نداره", "not_breathing"),
        # a medicine's strength, never a count with its count word
        ("paracetamol 40 ta khordam", "poisoning"),
        ("i took my metoprolol 30 pills all at once", "poisoning"),
        ("۳۰ تا سرترالین نخوردم فقط یکی خوردم", None),
        # an alarm, a phone, a nose or a bite cancels nothing
        ("CO alarm went off, my husband is unresponsive", "unconscious"),
        ("I was on the phone with my mom when she started seizing", "seizure"),
        ("از دماغش خون میاد و نفسش بالا نمیاد", "breathing"),
        ("یه حشره گازم گرفت لبم و صورتم داره ورم میکنه", "anaphylaxis"),
        ("I gave my son his epipen after he ate peanuts", "anaphylaxis"),
        # real typos stay readable; a word without vowels is its consonants
        ("30 ta ghorsaro khordam", "poisoning"),
        ("قلبش نمیزند", "not_breathing"),
    ],
)
def test_what_the_second_reading_of_the_i5_to_t5_round_found(text: str, expected: str | None) -> None:
    """Defects a helper who had not written the change found, each shown by a message (the
    shipped triage: what a user gets)."""
    hit = Triage.shipped().check(text)
    assert (hit.id if hit else None) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a life event or a trip explains hints, never intent, a burden or a suicide note
        ("I am moving abroad next week and I want to kill myself", "self_harm"),
        ("moving to canada next month, everyone would be better off without me", "self_harm"),
        ("im moving out and I wrote a suicide note", "self_harm"),
        ("after my graduation I plan to jump off the bridge", "self_harm"),
        ("moving to canada next month, wont be around much longer lol", None),
        (
            "امروز آخرین روز کارم بود، برای همه‌ی همکارا نامه‌ی خداحافظی نوشتم. دلم براشون تنگ میشه ولی کار جدیدم بهتره",
            None,
        ),
        # no scary film, cold, joke, call or game lowers a real emergency
        ("it was so scary, she stopped breathing and went blue", "not_breathing"),
        ("az sarma oomad tu khune va alan tashanoj karde, behosh nemiad", "seizure"),
        ("this is not a prank, my brother is having a seizure", "seizure"),
        ("he was joking with us when he suddenly collapsed and started seizing", "seizure"),
        ("after this call I'm going to kill myself", "self_harm"),
        ("nothing in the game or in my life matters anymore, I'm going to kill myself tonight", "self_harm"),
        # "X and Y is normal" is said of Y; "X and Y are normal" of both
        ("his face is drooping and speech is normal", "stroke"),
        ("face drooping and arm weak, speech is fine", "stroke"),
        ("her speech and face are normal", None),
        # "speech is fine" says so of speech: no all-clear for the sentence
        ("my mom's left arm went weak and speech is fine", "stroke"),
        # a number after "week" is its ordinal, but a count word makes it a count
        ("باردارم هفته ۲۰، میتونم استامینوفن بخورم؟", None),
        # words to a song, a tower looked up, a covid test: no emergency
        ("what are the words to Breathe by Pink Floyd", None),
        ("I googled how tall the tallest building in Dubai is", None),
        ("she has to stop after every word to breathe", "breathing"),
        # watching a show is where it happened, not a story
        ("we were watching a tv show and he collapsed, he is not responding", "unconscious"),
        # a laugh is no safety net for a count of pills; "I already took them" is no hypothetical
        ("lol i just took 40 of my sleeping pills", "poisoning"),
        ("میخوام بدونم اگه کسی ۴۰ تا قرص بخوره چی میشه، چون الان خوردم", "poisoning"),
        ("this cafeteria food is pure poison lmao, I'd rather starve", None),
        # the vet is a place, not the patient
        ("the vet is closed and my son ate rat poison", "poisoning"),
        ("my dog ate rat poison, the vet is closed", None),
        # pills in front of me make a what-if sincere; "honestly same" after a lyric
        ("یه سوال داشتم، اگه آدم ۵۰ تا قرص خواب بخوره چی میشه؟ الان جلومه", "poisoning"),
        ("this song lyric hits hard 'I want to die' and honestly same, I've got the rope", "self_harm"),
        # "also", "manam" (me too) start a new part: a story's frame stops there
        ("writing a story about a girl who overdoses, also I took 20 pills an hour ago", "poisoning"),
        ("in film didam ye nafar overdose kard, manam 30 ta ghors khordam", "poisoning"),
        # a gun held to oneself; not worth staying alive, whatever life event is beside it
        ("dadasham raft sarbazi, hala zang zade mige tofangesho gozashte zire chuneh", "self_harm"),
        ("khaharam az vaghti mohajerat karde mige dige arzesh nadare zende bemunam", "self_harm"),
        # a list item indented too deep had merged two terms into one
        ("دستمو دارم میبرم", "self_harm"),
        # before term, cramps with spotting; a method's pain asked about beside things handed over
        ("having some cramps and a bit of spotting. I'm 22 weeks pregnant", "pregnancy"),
        (
            "ye soal, age adam ye bottle ghors khab bokhore dard dare? vasayelamo ham gozashtam baraye khaharam",
            "self_harm",
        ),
        # vomit like coffee grounds; a child scalded and blistered (Finglish spelled "tavol")
        ("madarbozorgam ye chizi mesl-e tah-e ghahve bala miare, siah, sargije ham dare", "bleeding"),
        ("pesaram 3 salashe, chai jooosh rikht rooye paash, az zanoo ta moch tavol zade", "burns"),
        # someone who ended their life, and "I want to do the same"
        ("تو سریال دیدم یکی خودشو کشت، منم میخوام همین کارو بکنم", "self_harm"),
    ],
)
def test_what_the_second_reading_of_the_a6_to_h6_round_found(text: str, expected: str | None) -> None:
    """Defects a helper who had not written the change found (or the round's own probes), each
    shown by a message; the rules alone, so the learned model cannot hide them."""
    hit = Triage.rules_only().check(text)
    assert (hit.id if hit else None) == expected


def test_a_later_turn_read_as_the_setting_routes_with_the_earlier_ones() -> None:
    triage = Triage.rules_only()
    hit = triage.check_conversation(
        [
            "my husband suddenly can't speak properly and his face is drooping",
            "it started while we were watching a tv show, now his left arm is weak too",
        ]
    )
    assert hit is not None
    assert hit.id == "stroke"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a means left on with a goodbye, whatever the verb
        ("gaz ro baz gozashtam o daram mikhabam, khodafez", "self_harm"),
        ("گاز رو باز گذاشتم و میخوابم، خداحافظ همه", "self_harm"),
        # a number said per day is a regimen; in a day, or with a sign of harm, it is too much
        ("my mum takes 12 different pills a day, which ones interact?", None),
        ("babam ruzi 10 ta ghors mikhore, ba ham tadakhol daran?", None),
        ("he took 30 pills in a day", "poisoning"),
        ("she has been on paracetamol for a week, about 50 in total, now she keeps being sick", "poisoning"),
        # a Finglish word read with each ending that fits ("halgh-am", not "halg-ham")
        ("zanboor zad, halgham dare varam mikone", "anaphylaxis"),
        ("madaram az sobh hich vakoneshi nadare, har chi sedash mikonim", "unconscious"),
        ("mamanam ye naarahati tu sinash dare, araghe sard karde va halat tahavo dare", "cardiac"),
        ("retrosternal pressure radiating to my jaw and I am diaphoretic", "cardiac"),
        # twins are babies; "the other is fine" and "fine at lunch" are no all-clear
        ("my twins are 6 weeks and one has a temperature of 38.2", "infant_fever"),
        ("twins are 7 weeks, one just measured 38.1, the other is fine", "infant_fever"),
        (
            "grandpa's words come out wrong and he keeps dropping his fork with his right hand, he was fine at lunch",
            "stroke",
        ),
        ("the baby rolled off the bed onto the floor and now he is very sleepy and vomited", "head_injury"),
        ("the whole palm is white and blistered after she grabbed the iron", "burns"),
        # a look-alike: a wrist named in a kitchen burn
        ("she splashed hot oil on her wrist, small red patch, no blisters", None),
    ],
)
def test_what_the_o6_to_s6_round_found(text: str, expected: str | None) -> None:
    """Misses and false alarms of the fresh sets O6 to S6, shown by messages written after
    them (not their own), on the rules alone."""
    hit = Triage.rules_only().check(text)
    assert (hit.id if hit else None) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a rate only right after the count or its pill word, and never "a day ago" or "after"
        ("I took 30 paracetamol a day ago and now I feel fine", "poisoning"),
        ("I took 30 pills a day after he left me", "poisoning"),
        ("my husband took 15 of my daily pills", "poisoning"),
        ("50 ta ghors khordam har ruz hamine", "poisoning"),
        # paracetamol past its daily limit is an overdose over days; a strength is no count
        ("روزی ۱۵ تا استامینوفن ۵۰۰ میخورم چهار روزه", "poisoning"),
        ("I have been taking 16 paracetamol a day for 4 days", "poisoning"),
        ("how many paracetamol 500 a day is safe?", None),
        ("روزانه ۱۰ تا قرص میخورم و حالت تهوع دارم، از عوارض داروهاست؟", None),
        # an aquarium named is no animal framing of a child's emergency
        ("my toddler drank the aquarium cleaner, there is blue around his mouth", "poisoning"),
        # a trip for good, or to the tracks for photos, is no plan; a fingertip is no large area
        ("headed up the mountain for good, we bought a cabin there! any altitude sickness tips?", None),
        ("going out to the tracks to take photos of the steam train, any sunscreen advice?", None),
        ("I burned the whole tip of my finger on the kettle, small blister", None),
        ("im not planning on coming back to this gym lol", None),
        ("which buildings downtown let you get up on the roof? not planning on coming back down", "self_harm"),
    ],
)
def test_what_the_second_reading_of_the_o6_to_w6_round_found(text: str, expected: str | None) -> None:
    """Defects a helper who had not written the change found by probing it (and the round's
    own probes), on the rules alone."""
    hit = Triage.rules_only().check(text)
    assert (hit.id if hit else None) == expected


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        (
            ["dastamo ba dar e konserv boridam", "20 daghighe feshar midam, hanooz az zir e hole mirize biroon"],
            "bleeding",
        ),
        (["دماغم خون اومد", "۵ دقیقه فشار دادم بند اومد، تو هوای خشک زیاد پیش میاد"], None),
        (
            ["sardard daram", "yhoo shoroo shod vaqti vazne boland kardam, bad tarin dard e omram"],
            "thunderclap_headache",
        ),
    ],
)
def test_pressure_held_on_a_wound_that_still_bleeds_routes(turns: list[str], expected: str | None) -> None:
    assert _routed(turns) == expected


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        # "won't stop" routes a bleed in its own words, or on a blood thinner, not hiccups after a blood test
        (["had a blood test this morning, results normal", "but my hiccups won't stop, any tricks?"], None),
        (["آزمایش خون دادم امروز", "سکسکه ام بند نمیاد چیکار کنم؟"], None),
        (["my dad is on xarelto, tiny cut on his finger still bleeding 3 hours later"], "bleeding"),
        # a goodbye video for a colleague, a moment of change, an inhaler's counter: none
        (["We are making a goodbye video for a colleague's farewell party, any ideas"], None),
        (["tu ye lahze hame chi avaz shod, az karam ekhraj shodam, sar dard daram"], None),
        (["my inhaler is not working since I dropped it, the counter is stuck, do I need a new one?"], None),
        # a place under the traffic, with a farewell
        (["mikham beram jeloye mashin, movazebe bacheha bash"], "self_harm"),
    ],
)
def test_what_the_second_reading_of_a7_to_f7_found(turns: list[str], expected: str | None) -> None:
    assert _routed(turns) == expected


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        # a preverb glued to its verb reads as written apart
        (["پسرم نفسش درنمیاد، اسپری هم جواب نداد"], "breathing"),
        (["pesaram nafasesh darnemiad"], "breathing"),
        # a final ه typed with the key beside it, as written with it
        (["خفع میشم کمک"], "choking"),
        (["خفه میشم کمک"], "choking"),
        # chat shorthand ("dg" for dige), and a blade in hand with despair
        (["dg nmitunam, ba tigh neshastam tu otagham"], "self_harm"),
        # the heat took one's breath: no cut; "didn't blister" names no newborn
        (["garmaye emruz nafasamo borid, dige nemitunam beram biroon"], None),
        (["dastam khord be ghablame dagh, ghermez shode vali taval nazade"], None),
        # a sign told of a named person beside a how-to question in another clause
        (["mamanam oftad, sinash bala paiin nemire, CPR chejoori bayad anjam bedam?"], "not_breathing"),
        (["my dad is diabetic. what are the signs of a heart attack?"], None),
        # a pet elsewhere in the message is no patient of the writer's own clause
        (["my friend has two dogs, I'm allergic and I'm gasping, my inhaler isn't helping"], "breathing"),
        (["my hamster isn't breathing, I think he died"], None),
        # Finglish prefixes typed apart; "khoonamoon" is our house, not blood
        (["yeki jelo khoonamoon oftade, bi hooshe"], "unconscious"),
        # how many of a poison it takes to end it; a cold to end is no plan
        (["chand ta ghorse berenj bokhoram ke tamum she?"], "self_harm"),
        (["چند تا قرص سرماخوردگی بخورم که زودتر تموم شه این سرماخوردگی؟"], None),
        # a toddler who got into the pills
        (["دختر ۳ ساله‌م رفته سراغ قرصای فشار مامانبزرگش، نمیدونم چند تا"], "poisoning"),
        # "no," answers, it does not deny what follows; a denial after it still denies
        (["my son is having a seizure", "no, he is still seizing"], "seizure"),
        (["نه، هنوز داره تشنج میکنه"], "seizure"),
        (["نه، به خودکشی فکر نمیکنم، فقط خسته‌ام"], None),
        (["سرم خورد به کابینت، ولی نه سرگیجه دارم نه حالت تهوع"], None),
        # a take-back that counts the pills back into their box, and "it's not a seizure"
        (["پسرم قرص‌های فشار باباشو خورده!", "ببخشید اشتباه کردم، شمردم همش تو جعبه‌ست"], None),
    ],
)
def test_what_the_k7_to_w7_readings_found(turns: list[str], expected: str | None) -> None:
    assert _routed(turns) == expected


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        # the preverb is read apart before a glued word is cut: "برنمیگردم" is no "برن میگردم"
        (["دیگه برنمیگردم، خداحافظ همه"], "self_harm"),
        (["had an mi last year, what should I eat now"], None),
        # a case for an exam or a class is a lesson, one's own father a report
        (
            [
                "for my nursing exam: a 60 year old man comes in, he has crushing chest pain and is sweating,"
                " what is the diagnosis?"
            ],
            None,
        ),
        (
            [
                "case study for my class: she is 70, her face is drooping and her arm is weak."
                " what type of stroke is this?"
            ],
            None,
        ),
        (["پدرم از صبح حالش بده. سینش درد میکنه و عرق سرد کرده. علائم سکته قلبی چیه؟"], "cardiac"),
        (
            [
                "husband has COPD, tonight he's gasping and his lips look bluish,"
                " he can't even finish a sentence to tell me what's wrong"
            ],
            "breathing",
        ),
        # "I think he's ..." of a pet is still the pet
        (["my dog ate a bar of dark chocolate, I think he's having a seizure now"], None),
        # Persian "نه" before an intensifier still denies; before "still" it answers
        (["بعد ورزش خیلی عرق کردم، نه اصلا درد قفسه سینه، فقط خستم"], None),
        (["na, hanuz dare tashanoj mikone"], "seizure"),
        # an illness, exams or a course to end is no plan; the rest all in the box is one gone
        (["چند تا قرص بخورم که این اسهال تموم شه؟"], None),
        (["چند تا قرص کافئین بخورم تا امتحانا تموم شه؟"], None),
        (["he swallowed a button battery, the rest are all in the box"], "poisoning"),
        (["پسرم یه دونه از قرصای آهن رو خورده، بقیه همه سالمه"], "poisoning"),
        # from X7, Z7 and A8: a crash in slang, a place found for tomorrow morning, a whole box,
        # sleeping pills bought in several pharmacies so nobody suspects
        (["came off my motorbike an hour ago, now I keep asking the same questions and threw up"], "head_injury"),
        (["khaste shodam az hame chi, ye ja peyda kardam, farda sobh tamumesh mikonam"], "self_harm"),
        (["dadasham ye box kamel ibuprofen khorde, mige halam khube"], "poisoning"),
        (["حوصله هیچی ندارم", "از چند تا داروخونه قرص خواب گرفتم که کسی شک نکنه"], "self_harm"),
    ],
)
def test_what_the_second_reading_of_k7_to_w7_found(turns: list[str], expected: str | None) -> None:
    """Defects a helper who had not written the change found by probing it (231 probes)."""
    assert _routed(turns) == expected


@pytest.mark.parametrize(
    "turns",
    [["he is still seizing"], ["my son is having a seizure", "no, he is still seizing"], ["نه، هنوز داره تشنج میکنه"]],
)
def test_a_sign_said_to_be_going_on_now_is_not_vetoed(turns: list[str]) -> None:
    """The model's n-grams read "still seizing" as a story's; said now, the rules' reading stands."""
    hit = Triage.shipped().check_conversation(turns)
    assert hit is not None
    assert hit.id == "seizure"


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        # shaking all over, seen in a child or someone beside the writer; the cold explains it
        (["بچم داره میلرزه کل بدنش"], "seizure"),
        (["babam kolle badanesh dare mi larze"], "seizure"),
        (["pesaram kol badanesh milarze, az estakhr oomade sardeshe"], None),
        # curry is food that may hold an allergen, and it burns a mouth, no skin
        (["my lips are swelling up after that curry"], "anaphylaxis"),
        (["this curry is burning my face off 🔥🔥 worth it tho"], None),
        # a height asked "enough" to be "certain"
        (["what height from a building is enough so it’s certain"], "self_harm"),
        # indigestion that climbs to the jaw, with sweating
        (["feels like bad indigestion but it's moving up into my jaw and i'm drenched in sweat"], "cardiac"),
        # confusion in someone who was fine until yesterday
        (
            ["madarbozorgam az zohr gij shode, mano nemishnase, harfash bi rabte. ta dirooz hich moshkeli nadasht"],
            "stroke",
        ),
        # a privative word ("بی حسی", numbness) is denied by the verb after it; a pillow's mark
        (["صبح بیدار شدم یه طرف صورتم جای بالش مونده، سکته نیست که؟ بی حسی ندارم حرف زدنمم عادیه"], None),
        # "dad" in an English message is no Finglish "dade" (gave); "won't wake up" said of him is
        # someone unconscious, wherever the rule reads it
        (["we were watching a movie and my dad collapsed, he is not waking up"], "unconscious"),
        # all the pills counted back
        (
            [
                "bacham shishe vitamin ro baz karde, fek konam khorde",
                "na peida kardam hame ghorsa zire mobl bood, shomordam hamash hast",
            ],
            None,
        ),
        (["for my nursing exam: FAST stands for face, arm, speech and...? time?"], None),
        # the second reading: "started again" is never read against a story's date
        (["My son's seizures started again last year, now controlled with meds"], None),
        (["tashannojaye pesaram sale pish dobare shoru shod, alan ba daru kontrol shode"], None),
        # fear shakes a body too
        (["babam az tars kolle badanesh mi larze"], None),
        # a height asked to be safe is no plan; one asked so as not to survive is
        (["What height is enough for a cliff dive to be safe?"], None),
        (["چه ارتفاعی برای برج کافیه که مطمئن بشیم باد خرابش نمیکنه"], None),
        (["ارتفاع چند طبقه کافیه که آدم زنده نمونه؟ الان پشت بوم ساختمونم"], "self_harm"),
        # someone else's sleep routine is no farewell; one's own wish never to wake is
        (["my teenager won't wake up for school, any tips"], None),
        (["I just want to sleep and never wake up"], "self_harm"),
        (["my teen won't wake up, I've been shaking him for 5 minutes"], "unconscious"),
        # L8 to N8: asthma's reliever taken and not working, with a sign of breathing, over turns
        (
            [
                "pesaram asm dare",
                "az dishab sorfe mikone",
                "spray 3 bar zadim asar nakard, nafasesh kootah kootahe",
            ],
            "breathing",
        ),
        (["the nasal spray did not help my stuffy nose, still short of breath from the cold"], None),
        # an age said of twins ("۱۰ روزشونه"); dying asked of pills ("برای مردن"); an accident staged
        (["دوقلوهام ۱۰ روزشونه، یکیشون داغه، دماسنج زیر بغل ۳۸.۲ نشون داد"], "infant_fever"),
        (["چند روزه تو اینترنت میگردم چند تا قرص برای مردن کافیه. امشب خونه تنهام"], "self_harm"),
        (["ye joori mikham bemiram ke shabih tasadof bashe, shoma ham sholoogh nakonid"], "self_harm"),
        (["ye boti sam-e moosh kharidm, khastm az in zndgi"], "self_harm"),
        # the second reading of L8 to N8: pills asked for dying, which or how many
        (["how many paracetamol would it take to die"], "self_harm"),
        (["چند تا قرص خواب لازمه برای مردن؟"], "self_harm"),
        (["baraye mordan che daruyi bekhoram"], "self_harm"),
        (["which pills are best for dying painlessly?"], "self_harm"),
        (["how many painkillers would it take to die"], "self_harm"),
        (["how much tylenol is safe per day?? toothache is killing me"], None),
        (["which pills are lethal to cats? my cat got into the cabinet"], None),
        (["مادربزرگم سرطان داره، داره برای مردن آماده میشه، قرص مسکنش رو هر چند ساعت بدم؟"], None),
        # one sign said in two terms that share a word counts once
        (["az in zendegi khaste shodam, kar, dars, hame chi ziade"], None),
        # a fall to the floor is no jump from one; a vase in English is a vase
        (["my husband fell on the floor and won't wake up"], "unconscious"),
        (["my son broke the vase and tried to make it look like an accident lol"], None),
        (["I'm so tired of this life, bought rat poison today"], "self_harm"),
        (["hi", "asthma, used spray 3x, nothing changed", "breaths short and fast"], "breathing"),
        # P8 and R8: a platform and a step off; a rope tied; a high place found; a cap still sealed
        (["standing on the platform at Hauptbahnhof, next train in 3 min. I'm going to step off"], "self_harm"),
        (["waiting on the platform, next train in 3 min, I'm late for work ugh"], None),
        (["طناب رو بستم، فقط يه چيزي ميخواستم بپرسم قبلش"], "self_harm"),
        (["ye jaye boland peyda kardam, faghat mikham bedoonam dard dare ya na"], "self_harm"),
        (["lol if i have to sit through one more zoom meeting i'm gonna jump out the window jk jk"], None),
        # S8 and T8: the most one can take before it is too late; a mouth still filling with blood;
        # vomit like tea dregs on warfarin
        (
            ["whats the most paracetamol you can take before its too late for them to save you. asking for me"],
            "self_harm",
        ),
        (["what's the most ibuprofen I can take in a day for my back"], None),
        (
            [
                "بعد از کشیدن دندون خون میاد",
                "دو ساعته گاز استریل گذاشتم ولی هنوز دهنم پر خون میشه و سرم گیج میره",
            ],
            "bleeding",
        ),
        (
            [
                "babam warfarin mikhore",
                "az dirooz yekam khaste ast",
                "alan bala avard rangesh ghahvei tire mesle tefale chai bood, sargije dare",
            ],
            "bleeding",
        ),
        # Finglish sweat as phones spell it
        (["sue hazeme daram, arag kardam va fakam dard mikone"], "cardiac"),
    ],
)
def test_what_the_g8_to_j8_readings_found(turns: list[str], expected: str | None) -> None:
    assert _routed(turns) == expected


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        # V8, W8, Y8 and B9: a stem stops at a whole word (داداشم is no دادم, I gave)
        (["به همه پیام خداحافظی دادم. ببخشید که این همه سال زحمت بودم"], "self_harm"),
        (["ببخشید که زحمت دادم، ممنون از جوابتون"], None),
        (["داداشم از صبح بیهوشه و بیدار نمیشه"], "unconscious"),
        # حالم (my state) is no حالا (now): the breath came back
        (["از بس دنبال اتوبوس دویدم نفسم بند اومد، دو دقیقه طول کشید تا حالم جا بیاد، الان خوبم"], None),
        (["بعد از دویدن افتاد زمین نفس نمیکشه"], "not_breathing"),
        (
            ["my uncle's a heavy drinker, been feeling sick all day", "he's just brought up a load of blood, dark"],
            "bleeding",
        ),
        # a food, then the swelling, the Persian verb last; باد (swollen) is no بادوم (almond)
        (["صورت بچه‌م بعد از خوردن تخم‌مرغ ورم کرده"], "anaphylaxis"),
        (["ماهی خوردم لبام باد کرده"], "anaphylaxis"),
        (["zaboonam az chay-e dagh sookhte, ye kam bad karde, nafasam moshkeli nadare"], None),
        # an all-clear's negative verb governs the list before it
        (["بعد از خوردن توت فرنگی دور دهنم یکم قرمز شده و میخاره، تورم یا مشکل تنفسی ندارم"], None),
        # a take-back in the alarm's own words that says all is well; new signs are no take-back
        (
            [
                "my husband is having a seizure on the sofa",
                "sorry false alarm, it was just one of those big jerks you get dropping off to sleep, "
                "he's wide awake and chatting now",
            ],
            None,
        ),
        (["my dad's face is drooping on one side", "turns out he can't lift his right arm either"], "stroke"),
        # secrecy or purpose with a cut or a burn; secrecy alone, or a cut told as an accident, is none
        (["dstamo boridam khoon zyad miad vli nmikham kasi bfahme"], "self_harm"),
        (["burned my arm with a lighter on purpose, hiding it with long sleeves"], "self_harm"),
        (["planning a surprise gift for my wife, nobody can know. is a massage gun safe for back pain?"], None),
        (["too kar ba ghaychi dastam boridam, koochike, khoonesh band oomad, chasb zakhm kafie?"], None),
        (["I cut myself cooking, nobody can know how clumsy I am"], None),
        (["last day at my job tomorrow, said goodbye to everyone, feeling weirdly sad"], None),
    ],
)
def test_what_the_v8_to_b9_readings_found(turns: list[str], expected: str | None) -> None:
    assert _routed(turns) == expected


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        # E9: out for a while after a blow ("هیچی نفهمیدم"), seeing double
        (["از نردبون افتادم سرم خورد زمین، یه مدت هیچی نفهمیدم، الان دوتا میبینم"], "head_injury"),
        (["tu kelas hichi nafahmidam, ostad kheili tond dars midad"], None),
        # a poison put by in one's room, with hopelessness or secrecy: a means readied
        (["az zendegi khaste shodam, sam moosh kharidam gozashtam zire takhtam"], "self_harm"),
        (["خسته شدم از این زندگی، سم علف‌کش رو گذاشتم تو اتاقم، به شوهرم نگید"], "self_harm"),
        (["قرصای فشارمو گذاشتم تو کشوم کنار تختم، تو گرما خراب نمیشن؟"], None),
        # a figure of speech said as a joke is still a figure of speech
        (["از دست این همسایه میخوام خودمو بکشم 😂 باز ساعت ۳ صبح دریل میزنه"], None),
        (["if I have to fix this printer one more time I'll kill myself lol"], None),
        # a first-person verb's term does not make a story's character the writer
        (["tu romanam ghahreman akharesh khodkoshi mikone, chejuri ghamgin tar benevisam?"], None),
        (["dige nemikesham, emshab khodkoshi mikonam"], "self_harm"),
        # مستند (documentary) is no مست (drunk): the stroke signs stand
        (["بابام یهو یه طرف صورتش تکون نمیخوره و حرف زدنش مثل آدمای مسته"], "stroke"),
        # a trip up north explains switching the phone off
        (["kheili khaste shodam az kar, mikham beram shomal gushimo khamush konam"], None),
        # a take-back that says it was nothing a moment later
        (
            [
                "قفسه سینم درد گرفت دست چپم بی‌حس شد",
                "ببخشید روی دستم خوابیده بودم بی‌حس شده بود، سینم فقط یه لحظه بود الان هیچی نیست",
            ],
            None,
        ),
    ],
)
def test_what_the_e9_and_f9_readings_found(turns: list[str], expected: str | None) -> None:
    assert _routed(turns) == expected


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        # a first-person term is no third-person sentence: "dige nistam" (I will be no more) is no
        # "hichi dige nist" (there is nothing more)
        (["saram khord be dare komod, ye ghoz kard, hichi dige nist"], None),
        (["farda dige nistam, hame chi ro bakhshidam"], "self_harm"),
        # vasiat (a will) is a whole word, so "vase" (for) is no will
        (["tanab kharidam vase kuhnavardi, gereh zadan ro koja yad begiram?"], None),
        # a child who can neither cry nor cough: the rules' reading stands, the model does not veto it
        (["nini angur gereft tu galush na gerye mikone na sorfe"], "choking"),
        # a person on fire, clothes stuck to the skin
        (["بابام داشت با بنزین آتیش روشن میکرد، لباسش چسبیده به پوستش، دستاش و سینش سوخته"], "burns"),
        # an electric injury with a black mark: siyah is siah
        (["pesaram dastesh be sim bargh khord, jash siyah shode"], "burns"),
        # "خبر بدیم" (let the doctor know) is no news story
        (["نوزادم ۶ هفتشه تب کرده ۳۸.۵، دکتر گفته بود اگه تب کرد خبر بدیم، صبر کنم؟"], "infant_fever"),
        # Scots negation
        (["he's slumped ower, chest isnae movin an I cannae feel a pulse"], "not_breathing"),
        # over turns: words said wrong, then "never like this before"
        (
            ["mamanam dare harf mizane vali kalamato ghalat mige", "az nim saat pish, ghablan aslan intori nabood"],
            "stroke",
        ),
        # a fever, then the baby's age in weeks in the next turn: the model does not veto the age
        (["dokhtaram tab dare 38.5", "faghat 5 hafteshe"], "infant_fever"),
        # a coin in the throat, neither crying nor coughing
        (["سکه رفت تو گلوی پسرم نمیتونه گریه کنه نه سرفه"], "choking"),
        # a means put by where it is kept, with hopelessness said before
        (
            ["can't see a way out of any of this", "mum's sleeping pills are in the kitchen cupboard, there's loads"],
            "self_harm",
        ),
    ],
)
def test_what_the_o9_to_w9_readings_found(turns: list[str], expected: str | None) -> None:
    assert _routed(turns) == expected


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        # "lol" is nerves, never an all-clear, for a feverish newborn
        (["my 10 week old is burning up, 38.6 on the forehead thing, its 1am lol what do i do"], "infant_fever"),
        # ... but still a figure of speech where one is possible
        (["my heart literally stopped when my crush replied lol"], None),
        # "khodamo mikosham" with an "if" is a figure's template
        (["khodamo mikosham age in serial tamoom beshe"], None),
        # a fall told first is no collapse after a chest pain
        (["fell down the stairs and my chest hurts"], None),
        # a swoon or an eye-roll is a figure
        (["vaghti didamesh nafasam band oomad 😍 kheili khoshgel bood"], None),
        (["this humidity, i literally cant breathe 🙄"], None),
        # the writer laughing so hard is a figure; someone else laughing before a collapse is none
        (["اینقدر خندیدم نفسم بند اومد به خدا"], None),
        (["we laughed so hard at dinner then grandad collapsed and is not breathing"], "not_breathing"),
        # the object ending is the sign: "dustetun dashtam" (I loved you all), not "dust dashtam"
        # (I liked it) nor "ba doostam dashtim" (my friend and I were)
        (["film ro kheili dust dashtam"], None),
        (["shookhi kardam ba doostam, dashtim film mididim 😅 halam khoobe"], None),
        (["dustetun dashtam, khodahafez"], "self_harm"),
        # an age that was: the baby has grown since
        (["پسرم وقتی یک ماهه بود تب کرد و بستری شد، الان ۲ سالشه، باید هنوز نگران باشم؟"], None),
        (["bacham 2 mahashe tab dare"], "infant_fever"),
        # too breathless to speak, said without the word "breathless"
        (["so this is fun, i can get like 3 words out before i need air again. inhaler doing nothing"], "breathing"),
        # the pills counted back into their pack: the alarm taken back
        (["بچه‌م قرص خورده!", "نه ببخشید پیدا شد، قرص‌ها همه تو بسته‌ست، ویتامین پاستیلی خودش بوده"], None),
    ],
)
def test_what_the_t11_to_w11_readings_found(turns: list[str], expected: str | None) -> None:
    assert _routed(turns, Triage.rules_only()) == expected


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        # a newborn's fever put mildly ("a bit warm") is still the sign: the model does not veto it
        (["baby-am yekam garm-e, tab sanj zadim 38.3", "oh sorry yadam raft begam, faghat 5 hafteshe"], "infant_fever"),
        # "came out of nowhere" is a sudden onset, no object coughed out: no take-back
        (
            [
                "at the gym, had to stop mid set because of my head",
                "it was like someone hit the back of it with a bat, came out of nowhere, never felt anything like it",
            ],
            "emergency",
        ),
        # "how do I give CPR" after the report is no hypothetical
        (["baba nafas nemikeshe nabz nadare CPR chetori bedam"], "not_breathing"),
        # a heater on and the household drowsy and sick: carbon monoxide
        (["از صبح همه‌مون سردرد داریم", "بچه‌ها خواب‌آلودن و بالا آوردن، بخاری گازی هم روشنه"], "poisoning"),
        (
            ["got a bit of a wheeze today", "inhaler isn't doing much", "can only say a couple words at a time now"],
            "breathing",
        ),
        # a plan's place found is no lost thing found: no take-back
        (
            ["سلام، این ترم خیلی سخت گذشت", "خسته‌م، خیلی خسته", "قرصای خواب بابامو برداشتم، یه جای خلوت هم پیدا کردم"],
            "self_harm",
        ),
        # a crying emoji is no joke: a child pulled from a pool, not breathing
        (["toro khoda komak 😭😭 bache to estakhr bood daresh ovordim nafas nemikeshe"], "not_breathing"),
        # half a bottle swallowed by a child is as pressing as a whole pack
        (["پسرم نصف شیشه شربت سرماخوردگی رو سر کشیده، ۴ سالشه"], "poisoning"),
        # gauze that fills up, dizzy and pale, days after an extraction
        (
            [
                "سه روز پیش دندونمو کشیدم",
                "از دیشب دوباره خون میاد",
                "هر چی گاز استریل میذارم پر میشه، سرم گیج میره و رنگم پریده",
            ],
            "bleeding",
        ),
        (["dad clutching his chest and fell down"], "cardiac"),
        # "I'll kill myself" in the present, unless an "if" makes it a figure's template
        (["khodamo mikosham in dafe jedi"], "self_harm"),
        # slang for killing oneself
        (["i want to unalive myself, sorry"], "self_harm"),
        # whole messages typed without spaces
        (["dadchokingonsteakcantspeakhelp"], "choking"),
        (["friendpassedoutwontwakeupatall"], "unconscious"),
        (["بابامنفسنمیکشهنبضمنداره"], "not_breathing"),
        # a count right after a verb of taking is the sign, whatever is said of it
        (["my teenager has taken 30 ibuprofen, says it was an accident"], "poisoning"),
        # pre-eclampsia over turns: weeks, a headache, swelling, spots
        (
            [
                "36 hafte-am, az dishab sardard daram",
                "paham varam karde",
                "alan jolo cheshmam noghte noghte mibinam va zir-e dandeham dard mikone",
            ],
            "pregnancy",
        ),
        (["sar e kar az ye botri ab khordam, didam roghan-pak-kon boode, gelom dare misoze"], "poisoning"),
        # a small child's age in years is a child: the pill box open, a few missing
        (["dadash 2 saleham ba jabe ghorsaye mamanam bazi mikard", "darash baz bood, chand ta kam shode"], "poisoning"),
        # three words are too few for the model to overrule the rules
        (["bachem vitex khord!!"], "poisoning"),
        (["mamanam sekte kard!"], "stroke"),
        (["پدرم از درد سینه داره هلاک میشه"], "cardiac"),
        (
            [
                "Kindly advise: my colleague has no history of epilepsy but has just fallen down and is shaking "
                "rhythmically on the office floor, frothing at the mouth."
            ],
            "seizure",
        ),
        # a silent child is the sign read, however small the toy
        (["dokhtaram ye asbab bazi kuchik gheyr dad gir karde na sorfe mikone na gerye"], "choking"),
        (
            [
                "my husband just tried to pick up his coffee and it slid right out of his hand, and when he "
                "smiled only half his mouth moved. he keeps saying he's fine"
            ],
            "stroke",
        ),
    ],
)
def test_what_the_x11_to_a12_readings_found(turns: list[str], expected: str) -> None:
    hit = Triage.shipped().check_conversation(turns)
    assert hit is not None
    assert expected in ("emergency", hit.id)


def test_a_take_back_gets_nothing_from_the_model_and_an_age_is_no_all_clear() -> None:
    shipped = Triage.shipped()
    # "counted them, none missing": the words the n-grams read of a self-harm hint
    found = ["dokhtaram gheras-e ahan-e mano khorde!!", "na peydashoon kardam, shemordam hich kodoom kam nist"]
    assert _routed(found[:1], shipped) == "poisoning"
    assert _routed(found, shipped) is None
    # "۶۰ سالمه" is an age (I am 60), not "سالمه" (he is well): the turn is no take-back
    climbed = ["از بعد از شام یه سوزش بالای معده دارم", "الان تا فکم و بازوی چپم کشیده شده و عرق سرد کردم، ۶۰ سالمه"]
    assert _routed(climbed, shipped) is not None


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        # the emergency itself claimed as going on: the model learned the figurative use
        (["دارم سکته میکنم، قلبم داره از جا کنده میشه"], "stroke"),
        (["daram sekte mikonam"], "stroke"),
        # not a claim said as going on: a risk, a spoiler
        (["دکترم گفت LDL بالاست و ریسک heart attack دارم، چه رژیمی بگیرم؟"], None),
        (["you're giving me a heart attack with these spoilers stop"], None),
        # a claim with its cause named is the model's to judge
        (["با این قیمتا دارم سکته میکنم"], None),
        (["I'm having a heart attack at these prices"], None),
        (["drm sekte mikonm"], "stroke"),
        # the alarm taken back: the cap was still sealed
        (
            [
                "my son drank bleach!!!",
                "wait no he drank from the water bottle next to it, the bleach cap is still sealed, he's totally fine",
            ],
            None,
        ),
        # a seizure that started again is going on now
        (["بچه ۴ سالم تشنج کرد، تموم شد ولی دوباره شروع شد"], "seizure"),
    ],
)
def test_a_claim_or_a_sign_going_on_stands_against_the_veto(turns: list[str], expected: str | None) -> None:
    assert _routed(turns, Triage.shipped()) == expected


def test_the_triage_data_has_no_key_twice() -> None:
    """YAML keeps the last of two equal keys without a word: a concept written twice (or a
    language list twice in one concept) loses one of them."""

    class Strict(yaml.SafeLoader):
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
        keys = [loader.construct_object(key) for key, _ in node.value]
        twice = {key for key in keys if keys.count(key) > 1}
        assert not twice, f"line {node.start_mark.line + 1}: {sorted(map(str, twice))} twice"
        return loader.construct_mapping(node)

    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    yaml.load((ROOT / "bots" / "data" / "triage.yaml").read_text(encoding="utf-8"), Loader=Strict)


def test_every_lexicon_term_is_one_term() -> None:
    """A list item indented too deep is folded into the one before it by YAML ("دارم خودمو
    میبرم - 1p:دستمو دارم میبرم"), and both terms are lost without an error."""
    data = _shipped_data()
    merged = [
        term
        for spec in data["concepts"].values()
        for terms in spec.values()
        if isinstance(terms, list)
        for term in terms
        if isinstance(term, str) and (" - " in term or term.count("1p:") > 1)
    ]
    assert merged == []


def test_finglish_runs_are_not_cut_into_english_words() -> None:
    """An English message typed without spaces is cut into its words; a Finglish one is not
    ("bachamtabdarechikarkonam" is no run of "bach", "am", "tab"...)."""
    assert words.unglue_latin("heisnotbreathing") == ("he", "is", "not", "breathing")
    assert words.unglue_latin("bachamtabdarechikarkonam") == ("bachamtabdarechikarkonam",)
    assert words.unglue_latin("sinamdardmikoneh") == ("sinamdardmikoneh",)
