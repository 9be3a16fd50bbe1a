"""Emergency triage: concepts found in folded, stemmed words, combined within windows.

A fixed phrase breaks on the first intensifier, inflection, colloquial form or typo
("درد خیلی بد قفسه سینه", "ending my life", "swallowed a little bleach", "chokng").
So triage works on concepts instead (``bots/data/triage.yaml``):

1. fold: NFKC, typographic apostrophes, Arabic ي/ك, ZWNJ, every digit set, English
   contractions ("can’t" -> "can not"), letters repeated for emphasis;
2. tokens get one key per language: Snowball's English stem, a light Persian stem
   (hazm's stemmer plus colloquial suffixes), a Finglish spelling fold; a word that
   matches nothing may still match a lexicon word one edit away (rapidfuzz);
3. lexicon terms (one or more keys) mark concepts: symptom, body part, severity,
   person, time; numbers give counts and ages;
4. a category fires when one of its rules has all its concepts within a window of
   words, none of them negated, and the sentence is not framed as history, a
   hypothetical, a lesson or fiction (a framed first-person self-harm term, or an
   urgency cue such as "now", still fires);
5. a learned second opinion (``bots/triage_model.py``, logistic regression over hashed
   n-grams) may add an emergency the rules missed when it is confident (self-harm at a
   lower score of its own, but never in a message the rules read as a life event: a
   trip, a move), and may drop a rule hit it finds very unlikely (never self-harm or
   "not breathing").

Every step is a dictionary lookup or a bounded scan, so the time grows linearly with
the message.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib.resources import files
from itertools import takewhile
from typing import Any, Literal

import yaml

from bots import keyboard_layout
from bots import triage_words as words
from bots.triage_model import TriageModel

LANGS = ("en", "fa", "fi")
# Languages whose word order is free enough in speech that two words of a term may come swapped.
SCRAMBLED = ("fa", "fi")
# The concepts whose Finglish words are also read on their consonants in any message.
SELF_HARM_SIGNS = ("sh_", "self_harm")


def _bones(surface: str) -> str:
    """A Finglish word's consonants after its first letter, doubled ones once ("tahammol": thml)."""
    return re.sub(r"(.)\1+", r"\1", words.skeleton(surface))


def _vowels_dropped(surface: str, word: str) -> bool:
    """``surface`` is ``word`` with some of its vowels left out (o and u alike, a doubled letter
    once): "dge" of dige, "tmome" of tamume, "thml" of tahammol; not "pele" of pol."""
    a = re.sub(r"(.)\1+", r"\1", surface).replace("u", "o")
    b = re.sub(r"(.)\1+", r"\1", word).replace("u", "o")
    j = 0
    for ch in b:
        if j < len(a) and a[j] == ch:
            j += 1
        elif ch not in "aeiou":
            return False
    return j == len(a)


@dataclass(frozen=True)
class Hit:
    id: str
    reason: str
    crisis: bool
    # Extra instruction for the routing reply (e.g. "cpr"), keyed into medical.yaml's texts.
    advice: str | None = None


@dataclass(frozen=True)
class Match:
    concept: str
    start: int  # token positions, end exclusive
    end: int
    sentence: int
    first_person: bool


@dataclass
class _Term:
    keys: tuple[str, ...]
    concept: str
    lang: str
    first_person: bool
    # The term carries its own negation ("not breathing", "نفس نمیکشه", "هیچ واکنشی نداره"):
    # a negation next to it intensifies, it does not cancel.
    negative_form: bool = False
    # The term ends in a verb ("خفه میشم", "خورده"): a negative verb after it governs another clause.
    ends_in_verb: bool = False
    # its place among the terms of its first word (longest first), the order they are tried; and
    # among those of its second, where its first two words may come swapped (SCRAMBLED)
    rank: int = 0
    swapped_rank: int = 0
    # its last word is a verb in the first person ("khodkoshi mikonam", "dige nistam"): the stems
    # match "mikone", "nist" too, which are someone else or nothing ("shakhsiyat-e asli khodkoshi
    # mikone", a character in a story; "hichi dige nist", there is nothing more)
    ends_in_first_person_verb: bool = False
    # the places of its words whose object ending makes the sign ("tamumesh": end *it*); see
    # Triage._objects_kept
    objects: tuple[int, ...] = ()
    # a self-harm sign's term: it also reads Finglish words on their consonants (see _find_terms)
    sh: bool = field(init=False)
    swapped: tuple[str, ...] = field(init=False)  # its words with the first two swapped

    def __post_init__(self) -> None:
        self.sh = self.concept.startswith(SELF_HARM_SIGNS)
        self.swapped = (*self.keys[1:2], *self.keys[:1], *self.keys[2:])


@dataclass
class _Rule:
    near: tuple[frozenset[str], ...]  # each slot: any of these concepts, all slots within the window
    also: tuple[frozenset[str], ...]  # anywhere in the judged text
    unless: frozenset[str]  # none of these in the sentence of the first slot
    # Warning signs that add up: concept -> weight; the rule holds at `at_least` (each
    # concept counts at most twice). Farewells, arrangements, a means, hopelessness.
    signals: dict[str, int]
    at_least: int
    # Signs that count once however often they are said: "locked his door and won't answer" is one
    # sign (no one can reach him), not two.
    once: frozenset[str]
    window: int
    ordered: bool  # the slots appear in the order written ("30 pills", not "pills ... 81 or 100 mg")
    # Framings this rule reads through: asking which pill is lethal with the pills at hand is a
    # question ("what if", "how many") and a warning sign all the same.
    despite: frozenset[str] = frozenset()
    # ... in its ``also`` slots too: a birth dated "last month" is read through its history, the
    # fever beside it is not ("born last month, had a fever last week, gone now")
    also_despite: bool = True
    slots: tuple[frozenset[str], ...] = field(init=False)  # also and near: each must be said

    def __post_init__(self) -> None:
        self.slots = (*self.also, *self.near)


@dataclass
class _Category:
    id: str
    reason: str
    crisis: bool
    advice: str | None
    rules: list[_Rule]
    # Framing never lowers these: e.g. self-harm said in the first person.
    keep_first_person: bool
    frames: frozenset[str]  # the framings that lower this category
    kept_by_now: bool  # "now" alone keeps it ("someone is not breathing now")
    keep_against: frozenset[str]  # the framings a kept ("1p:") term resists
    lowered_always: frozenset[str] = frozenset()  # framings that lower even a kept term (a song quoted)
    # Terms a life event or a trip never explains: moving abroad explains a goodbye or things
    # given away, never "I want to kill myself" or "everyone would be better off without me".
    never_explained: frozenset[str] = frozenset()


@dataclass
class _Analysis:
    tokens: list[words.Token]
    matches: dict[str, list[Match]] = field(default_factory=dict)
    # (unit, number) -> its frames (history, fiction, ...); unit is clause, sentence or turn
    framed: dict[tuple[str, int], set[str]] = field(default_factory=dict)
    now: set[tuple[int, int]] = field(default_factory=set)  # (sentence, clause) saying "now"
    restarted: set[int] = field(default_factory=set)  # sentences saying a sign "started again"
    caused: set[int] = field(default_factory=set)  # sentences naming a cause ("با این قیمتا")
    urgent: set[int] = field(default_factory=set)  # sentences with an urgency cue
    parts: list[int] = field(default_factory=list)  # each token's part of its sentence (see _parts)
    negated: set[tuple[int, int]] = field(default_factory=set)  # spans of terms said as absent
    cues: dict[str, set[int]] = field(default_factory=dict)  # framing -> where its cues are
    cue_clauses: dict[str, set[int]] = field(default_factory=dict)  # framing -> the clauses of its cues
    clause_words: dict[int, set[str]] = field(default_factory=dict)  # clause -> its words
    turn_words: dict[int, set[str]] = field(default_factory=dict)  # turn -> its words
    people: dict[int, set[str]] = field(default_factory=dict)  # turn -> who else it names (first words)
    # (concepts, category, framings read through) -> the matches left standing (see Triage._live)
    live: dict[tuple[frozenset[str], str, frozenset[str]], list[Match]] = field(default_factory=dict)

    def denied(self, unsaid: frozenset[str]) -> bool:
        """Two or more of the message's terms are said as absent, and more than are present ("I
        don't have chest pain or shortness of breath"; a body part or a person, which negation
        never reaches, is neither): the n-grams still read the words, so the model adds no hit
        here."""
        live = {(m.start, m.end) for c, matches in self.matches.items() if c not in unsaid for m in matches}
        # terms said as absent that touch are one ("بلعیده و نمی‌تواند نفس بکشد" reads two), and
        # two at least: one negated verb may be the alarm itself ("cannot breathe")
        absent, end = 0, -1
        for start, stop in sorted(self.negated):
            absent += start > end
            end = max(end, stop)
        return absent >= 2 and absent > len(live)


def _persian_words(data: Any) -> set[str]:
    """Every Persian word the triage data writes (terms, cues, numbers' units): never cut apart
    as glued words ("دندونپزشکی" is a cue as written)."""
    if isinstance(data, dict):
        return set().union(*(_persian_words(v) for v in data.values())) if data else set()
    if isinstance(data, list):
        return set().union(*(_persian_words(v) for v in data)) if data else set()
    if isinstance(data, str) and any("\u0600" <= c <= "\u06ff" for c in data):
        return {t.surface for t in words.tokenize(data.removeprefix("1p:")) if t.lang == "fa"}
    return set()


@cache
def _shipped_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(files("bots").joinpath("data/triage.yaml").read_text(encoding="utf-8"))
    return data


# A hit the learned second opinion adds, when it does not read self-harm.
LEARNED = ("emergency", "an emergency the learned second opinion reads (no rule matched)")
# The framing under which the model's self-harm head alone adds nothing (a trip, a move).
LIFE_EVENT = "life_event"
CLOSED_STORY = "closed_story"  # the frame of a dated story that ended well (see _close_stories)
SOMEONE_ELSE = "someone_else"  # the concept of a person other than the writer
NONE_TAKEN = "none_taken"  # the concept of pills counted and none gone
# how far after a "no" a denial is looked for (the rest of its sentence, bounded: a message of one
# endless sentence stays linear)
ANSWER_REACH = 40
EDUCATIONAL = "educational"  # the framing of a lesson or a how-to question
ANIMAL = "animal"  # the framing of a pet's or a farm animal's trouble
RESOLVED = "resolved"  # the framing of a sign that is over ("fine now")
LAUGHING = "laughing"  # "lol", an emoji: a figure of speech or nerves, never an all-clear of its own
SETTLED = frozenset(("history", "resolved", LAUGHING, "mild", "educational", "hypothetical", "fiction", "animal"))
COVER_STORY = "cover_story"  # the concept of a life event told to others as a cover
# analyse's cue sets other than the frames (names no frame takes)
CLOSING, URGENT, NOW, RESTARTED, CAUSED, SINCERE = "closing", "=urgent", "=now", "=restarted", "=caused", "=sincere"
_Keys = dict[str, frozenset[str]]  # a token's lexicon words by language
CueIndex = dict[str, list[tuple[str, ...]]]  # cues (their folded words) by their first word


def _composed(cues: dict[str, Any]) -> dict[str, list[str]]:
    """A frame's cues written as two lists, every first word before every second ("going" x
    "places": "miram kanada", "flying to dubai", "برم شمال"), per language."""
    compose = cues.get("compose")
    if not compose:
        return {}
    return {
        f"{lang}+": [f"{a} {b}" for a in compose["first"].get(lang, ()) for b in compose["then"].get(lang, ())]
        for lang in LANGS
    }


# Framings that explain self-harm's words away for the learned second opinion's self-harm head.
EVENTS = frozenset((LIFE_EVENT, "trip"))  # what a writer is doing, which explains hints, not intent
STORIES = frozenset(("fiction", "character"))  # a story told, whose lines are its characters'
IDIOM = "idiom"  # a figure of speech the rules read: the learned second opinion adds nothing there
EXPLAINED = EVENTS | STORIES | {"media", IDIOM}


# The longest span a term, a cue or an age reading covers, in words: a span that could hold a
# position starts at most this far before it (so the look-up stays linear in a long message).
SPAN_REACH = 24


def _by_start(spans: Iterable[tuple[int, int]]) -> dict[int, list[int]]:
    starts: dict[int, list[int]] = {}
    for s, e in spans:
        starts.setdefault(s, []).append(e)
    return starts


def _inside_longer(starts: dict[int, list[int]], start: int, end: int) -> bool:
    """[start, end) lies inside a longer span of ``starts``."""
    return any(
        end <= e and e - s > end - start
        for s in range(max(0, start - SPAN_REACH), start + 1)
        for e in starts.get(s, ())
    )


class Triage:
    def __init__(self, data: dict[str, Any], model: TriageModel | None = None) -> None:
        self.model = model
        self._index: dict[tuple[str, str], list[_Term]] = {}
        # Persian word order is free in speech ("نفس نمیتونه بکشه" / "نمیتونه نفس بکشه"): a term's
        # first two words may come swapped (in terms of three words or more: two-word terms are often
        # fixed phrases such as "وقتی رفتم"). Indexed by the second word.
        self._swapped: dict[tuple[str, str], list[_Term]] = {}
        self._unless_inside: dict[str, list[str]] = {
            concept: options.get("unless_inside", []) for concept, options in data.get("concept_options", {}).items()
        }
        # words that stem like a term's word but are another word ("ham", also, is no "hame", all)
        self._not_after: dict[str, frozenset[str]] = {
            concept: frozenset(options["not_after"])
            for concept, options in data.get("concept_options", {}).items()
            if "not_after" in options
        }
        self._not_words: dict[str, frozenset[str]] = {
            concept: frozenset(options["not_words"])
            for concept, options in data.get("concept_options", {}).items()
            if "not_words" in options
        }
        self._fuzzy = words.FuzzyIndex()
        self._fi_surfaces: set[str] = set()  # the Finglish lexicon's words as written
        fa_surfaces: set[str] = set()  # the Persian lexicon's words, never cut apart as glued
        # Finglish words of the self-harm signs by their consonants ("dge tmome", "mrc bbt hme chi",
        # "neshstm"): read that way in any message, not only one typed without vowels, since a
        # missed crisis costs more than a misread word (the signs still have to add up).
        self._sh_skeletons: dict[str, dict[str, str]] = {}  # consonants -> {lexicon word: its key}
        self._sh_read: dict[str, frozenset[str]] = {}  # a word's readings, once computed
        self._read_keys: dict[tuple[str, str, bool, bool], tuple[_Keys, _Keys]] = {}  # see _token_keys
        self._words: dict[str, set[str]] = {lang: set() for lang in LANGS}
        self._negation = {lang: set(words) for lang, words in data["negation"]["cues"].items()}
        self._absent_after = {lang: set(w) for lang, w in data["negation"]["absent_after"].items()}
        self._copula = {lang: set(w) for lang, w in data["negation"]["copula"].items()}
        self._negative_verb = {
            lang: re.compile("|".join(f"(?:{p})" for p in patterns))
            for lang, patterns in data["negation"]["verbs"].items()
        }
        self._positive_verb = {
            lang: re.compile("|".join(f"(?:{p})" for p in patterns))
            for lang, patterns in data["negation"]["positive_verbs"].items()
        }
        # one set over the languages (a Latin word is never written in Persian letters): checked
        # for every word a term or a cue may skip
        self._filler_words = frozenset(w for ws in data["fillers"].values() for w in ws)
        self._correlative = {lang: set(w) for lang, w in data["negation"].get("correlative", {}).items()}
        stems = data["drug_stems"]
        self._drug_latin = re.compile(f"(?:{'|'.join(stems['latin'])})e?$")
        self._drug_fa = re.compile(f"(?:{'|'.join(stems['fa'])})$")
        self._drug_concept = str(stems["concept"])
        self._english_common = frozenset(data.get("english_common", []))
        self._coordinators = {lang: set(w) for lang, w in data["negation"].get("coordinators", {}).items()}
        self._plural_copula = {lang: set(w) for lang, w in data["negation"].get("plural_copula", {}).items()}
        self._finglish_common = frozenset(data.get("finglish_common", []))
        self._object_endings: dict[str, dict[str, tuple[str, ...]]] = {
            lang: {word: tuple(endings) for word, endings in by_word.items()}
            for lang, by_word in data.get("object_endings", {}).items()
        }
        self._bare_no = frozenset(data["negation"].get("bare_no", ()))
        self._privative = frozenset(data["negation"].get("privative", ()))
        self._pronouns = frozenset(data["negation"].get("subjects", ()))
        self._story_speakers = frozenset(data.get("story_speakers", ()))
        self._answer_times = frozenset(data["negation"].get("answer_times", ()))
        self._study_words = frozenset(data.get("study_words", ()))
        self._shorthand = {short: words.fi_key(word) for short, word in data.get("finglish_shorthand", {}).items()}
        self._never_negated = frozenset(data.get("never_negated", []))
        self._parts_said_fine = frozenset(data.get("parts_said_fine", []))
        self._all_clear = frozenset(data.get("all_clear", []))
        self._transparent = {lang: set(words) for lang, words in data["negation"]["transparent"].items()}
        pending: list[tuple[_Term, list[words.Token]]] = []
        self._groups: dict[str, list[str]] = {name: list(items) for name, items in data.get("groups", {}).items()}
        for concept, by_lang in data["concepts"].items():
            for lang, terms in by_lang.items():
                for raw in map(str, terms):
                    first_person = raw.startswith("1p:")
                    term = raw[3:] if first_person else raw
                    tokens = [t for t in words.tokenize(term) if t.keys.get(lang)]
                    keys = tuple(t.keys[lang] for t in tokens)
                    for t in tokens:
                        self._fuzzy.add(lang, t.surface, t.keys[lang])
                        if lang == "fi":
                            self._fi_surfaces.add(t.surface)
                        elif lang == "fa":
                            fa_surfaces.add(t.surface)
                        if lang == "fi" and concept.startswith(SELF_HARM_SIGNS) and t.surface.isalpha():
                            self._sh_skeletons.setdefault(_bones(t.surface), {})[t.surface] = t.keys[lang]
                    if not keys:
                        raise ValueError(f"triage lexicon: term {raw!r} of concept {concept!r} has no {lang} words")
                    entry = _Term(keys, concept, lang, first_person)
                    entry.ends_in_first_person_verb = first_person and words.person_of_verb(tokens[-1].surface) == 1
                    entry.objects = tuple(k for k, t in enumerate(tokens) if self._has_object(t.surface, lang))
                    pending.append((entry, tokens))
                    self._index.setdefault((lang, keys[0]), []).append(entry)
                    if lang in SCRAMBLED and len(keys) >= 3 and keys[0] != keys[1]:
                        self._swapped.setdefault((lang, keys[1]), []).append(entry)
                    self._words[lang].update(keys)
        self._fa_surfaces = frozenset(fa_surfaces | _persian_words(data))
        self._first_person = frozenset(data["first_person"])
        for entry, term_tokens in pending:
            entry.negative_form = any(
                self._negative(t) or (self._is(t, self._negation) and t.surface not in self._privative)
                for t in term_tokens
            )
            last = term_tokens[-1]
            entry.ends_in_verb = self._affirmative(last) or last.surface.startswith(("می", "mi"))
        # By first word and, for longer terms, by their second (the word that must come next):
        # a message's word is tried against the few terms its next word allows.
        self._by_two: dict[tuple[str, str, str], list[_Term]] = {}
        self._swapped_by_two: dict[tuple[str, str, str], list[_Term]] = {}
        self._single: dict[tuple[str, str], list[_Term]] = {}
        for swapped, index, by_two in ((False, self._index, self._by_two), (True, self._swapped, self._swapped_by_two)):
            second = 0 if swapped else 1  # where the word that must come next sits in its keys
            for (lang, first), entries in index.items():
                entries.sort(key=lambda e: -len(e.keys))  # longest term first
                for rank, entry in enumerate(entries):
                    if swapped:
                        entry.swapped_rank = rank
                    else:
                        entry.rank = rank
                    if len(entry.keys) == 1:
                        self._single.setdefault((lang, first), []).append(entry)
                    else:
                        by_two.setdefault((lang, first, entry.keys[second]), []).append(entry)
        self._frames = {
            name: (
                self._compile_cue_set({k: v for k, v in cues.items() if k in ("en", "fa", "fi")} | _composed(cues)),
                cues.get("scope", "sentence"),
            )
            for name, cues in data["framing"]["frames"].items()
        }
        # Calendar years that make a sentence history: Gregorian ("in 2019") and Solar Hijri ("سال ۱۳۹۸").
        self._years = [tuple(data["framing"][k]) for k in ("years", "jalali_years") if k in data["framing"]]
        short = data["framing"]["jalali_short_years"]
        self._year_words, self._short_years = frozenset(short["after"]), tuple(short["range"])
        # A cue of these can itself be negated ("no history of", "حالش خوب نیست"); a question's cannot.
        self._negatable_frames = {n for n, cues in data["framing"]["frames"].items() if cues.get("negatable", True)}
        # A cue right after one of these words is the setting, not the subject: "while we were
        # watching a tv show he collapsed" is no story
        self._setting_words = {n: frozenset(c.get("unless_after", ())) for n, c in data["framing"]["frames"].items()}
        self._default_frames = [n for n, cues in data["framing"]["frames"].items() if not cues.get("opt_in")]
        self._urgent = self._compile_cue_set(data["framing"]["urgent"])
        self._sincere = self._compile_cue_set({k: v for k, v in data["framing"]["sincere"].items() if k != "drops"})
        self._sincere_drops = frozenset(data["framing"]["sincere"]["drops"])
        self._closing = self._compile_cue_set(data["closing"])
        self._again = frozenset(data["closing_reopened"])
        self._taken_back = self._compile_cue_set(data["taken_back"]["cues"])
        self._never_taken_back = frozenset(data["taken_back"]["never"])
        self._all_well = self._compile_cue_set(data["taken_back"]["all_well"])
        self._now = self._compile_cue_set(data["framing"]["now"])
        going_on = data["framing"]["going_on"]
        self._going_on = frozenset(
            words.cue_key(t) for k, v in going_on.items() if k != "claims" for w in v for t in words.tokenize(w)
        )
        self._claims = frozenset(going_on["claims"])
        self._pressing_signs = frozenset(data.get("pressing_signs", ()))
        taken = data.get("pressing_counts", {})
        self._count_concept = str(taken.get("count", ""))
        self._taking = frozenset(taken.get("after", ()))
        self._going_on_cause = self._compile_cue_set(data["framing"]["going_on_cause"])
        self._restarted = self._compile_cue_set(data["framing"]["restarted"])
        # Every cue set analyse reads, scanned in one pass over the words (see _scan_all): the
        # frames and the closings, which a longer lexicon term hides, then those it does not.
        passes: list[tuple[str, CueIndex, bool, bool]] = [
            (name, cues, name in self._negatable_frames, True) for name, (cues, _) in self._frames.items()
        ]
        passes += [(CLOSING, self._closing, True, True)]
        passes += [
            (name, cue_set, True, False)
            for name, cue_set in (
                (URGENT, self._urgent),
                (NOW, self._now),
                (RESTARTED, self._restarted),
                (CAUSED, self._going_on_cause),
                (SINCERE, self._sincere),
            )
        ]
        self._passes = [(name, negatable, hidden) for name, _, negatable, hidden in passes]
        self._all_cues: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        for k, (_, cue_set, _, _) in enumerate(passes):
            for first, cues_of_first in cue_set.items():
                self._all_cues.setdefault(first, []).extend((k, cue) for cue in cues_of_first)
        self._count = data["numbers"]["count"]
        self._units = re.compile("|".join(self._count["units"]))
        self._ambiguous_numbers = frozenset(self._count.get("ambiguous", ()))
        self._ordinal_after = re.compile("|".join(self._count.get("ordinal_after", ["(?!)"])))
        self._count_words = frozenset(self._count.get("words", ()))
        self._rate_before = frozenset(self._count.get("rate_before", ()))
        self._rate_after_not = frozenset(self._count.get("rate_after_not", ()))
        self._rate_after_next_not = frozenset(self._count.get("rate_after_next_not", ()))
        self._count_concepts = frozenset(
            (self._count["concept"], self._count["rate_concept"], self._count["rate_high_concept"])
        )
        self._rate_after = [tuple(phrase.split()) for phrase in self._count.get("rate_after", ())]
        self._fever = data["numbers"]["fever"]
        self._not_fever = re.compile("|".join(self._fever["not_after"]))
        self._fever_words = frozenset(self._fever.get("words", []))
        self._age = data["numbers"]["age"]
        self._weeks = re.compile("|".join(self._age["units"]["week"]["plain"]))
        young = self._age.get("young")
        self._young = (
            (
                str(young["concept"]),
                float(young["max"]),
                re.compile("|".join(young["aged"])),
                re.compile("|".join(young["plain"])),
            )
            if young
            else None
        )
        self._age_units = [
            (float(unit["max"]), re.compile("|".join(unit["plain"])), re.compile("|".join(unit["aged"])))
            for unit in self._age["units"].values()
        ]
        self._breaks = frozenset(w for lang in data["scope_breaks"].values() for w in lang)
        self._contrast = frozenset(w for lang in data["contrast"].values() for w in lang)
        self.categories = [self._category(cid, spec) for cid, spec in data["categories"].items()]

    def _expand(self, item: str) -> frozenset[str]:
        names = [n.strip() for n in item.split("|")]
        out: set[str] = set()
        for name in names:
            out.update(self._groups.get(name, [name]))
        return frozenset(out)

    def _category(self, cid: str, spec: dict[str, Any]) -> _Category:
        rules = [
            _Rule(
                near=tuple(self._expand(i) for i in rule.get("near", [])),
                also=tuple(self._expand(i) for i in rule.get("also", [])),
                unless=frozenset().union(*(self._expand(i) for i in rule.get("unless", []))),
                signals={str(k): int(v) for k, v in rule.get("signals", {}).items()},
                at_least=int(rule.get("at_least", 0)),
                once=frozenset(rule.get("once", ())),
                window=int(rule.get("window", 6)),
                ordered=bool(rule.get("ordered", False)),
                despite=frozenset(rule.get("despite", ())),
                also_despite=bool(rule.get("also_despite", True)),
            )
            for rule in spec["rules"]
        ]
        return _Category(
            id=cid,
            reason=spec["reason"],
            crisis=bool(spec.get("crisis", False)),
            advice=spec.get("advice"),
            rules=rules,
            keep_first_person=bool(spec.get("keep_first_person", False)),
            # "frames" replaces the default framings; "except_frames" takes some away from them
            frames=frozenset(spec.get("frames", self._default_frames)) - frozenset(spec.get("except_frames", ())),
            kept_by_now=bool(spec.get("kept_by_now", False)),
            keep_against=frozenset(spec.get("keep_against", self._frames)),
            lowered_always=frozenset(spec.get("lowered_always", ())),
            never_explained=frozenset(spec.get("never_explained", ())),
        )

    @staticmethod
    def _compile_cue_set(cues: dict[str, list[str]]) -> CueIndex:
        """Cues are grammar (time, mood, genre), matched on spelling-folded words, not stems;
        indexed by their first word (a scan looks up each word of the text once)."""
        index: CueIndex = {}
        for lang_cues in cues.values():
            for cue in map(str, lang_cues):
                keys = tuple(words.cue_key(t) for t in words.tokenize(cue))
                if keys:
                    index.setdefault(keys[0], []).append(keys)
        return index

    @classmethod
    @cache
    def shipped(cls) -> Triage:
        """The shipped rules with the shipped learned second opinion."""
        return cls(_shipped_data(), TriageModel.shipped())

    @classmethod
    @cache
    def rules_only(cls) -> Triage:
        """The shipped rules alone (how they are measured and tuned)."""
        return cls(_shipped_data())

    # -- analysis ---------------------------------------------------------------

    def _english(self, token: words.Token) -> bool:
        """A Latin word that is English (the lexicon's, or a common word): never read as
        vowel-dropped Finglish ("fever" is no "favar")."""
        return (
            token.keys.get("en") in self._words["en"]
            or token.surface in self._english_common
            or words.english_word(token.surface)
        )

    def _known_persian(self, word: str) -> bool:
        """A Persian word the data writes, or one a typo away from a lexicon word ("خداحفظی"):
        never cut apart as glued words, so the fuzzy match can read it."""
        return word in self._fa_surfaces or self._fuzzy.nearest("fa", word) is not None

    def _english_only(self, token: words.Token, guarded: bool) -> bool:
        """A common English word is read as Finglish only as the Finglish lexicon spells it,
        never through an ending, a near spelling or its consonants: "same" is no "sam" (poison),
        "was" no "vas"; "dard", "man" and "pa" still are what the lexicon says. Only in a
        message mostly in English (``guarded``): in a Finglish one, "same mush" is rat poison. A
        word of ``english_common`` is English there even where the Finglish lexicon writes it
        ("my dad collapsed": no "dad", gave)."""
        if not guarded:
            return False
        surface = token.surface
        return surface in self._english_common or (words.common_english(surface) and surface not in self._fi_surfaces)

    def _keys(self, token: words.Token, lang: str, dropped: bool = False, guarded: bool = False) -> frozenset[str]:
        """The lexicon words a token may be: itself, a near spelling, or (in a message typed
        without vowels) every word with its consonants ("bkshm": bekesham or bokosham; the
        term around it decides)."""
        key = token.keys.get(lang)
        if lang == "fi" and token.surface in self._shorthand:
            return frozenset((self._shorthand[token.surface],))
        if key is None or (lang == "fi" and self._english_only(token, guarded)):
            return frozenset()
        if lang == "fi" and token.surface in self._finglish_common:
            # a common word: itself where the lexicon writes it, never a near spelling or a
            # word that shares its key
            return frozenset((key,)) if token.surface in self._fi_surfaces else frozenset()
        stem = self._short_stem(token.surface) if lang == "fa" else None
        # a Finglish word may end in more than one way ("halgham": halgh-am, not halg-ham): every
        # reading the lexicon knows
        readings = (
            frozenset(s for s in words.fi_stems(token.surface) if s in self._words["fi"])
            if lang == "fi"
            else frozenset()
        )
        if key in self._words[lang]:
            return frozenset((key, stem)) if stem else frozenset((key,)) | readings
        if stem:
            return frozenset((stem,))
        slip = self._final_slip(token.surface) if lang == "fa" else None
        if slip:
            return frozenset((slip,))
        if readings:
            return readings
        if lang == "fi" and dropped and not self._english(token) and words.voweless(token.surface):
            # a word typed without its vowels is its consonants, not a typo of some other word
            # ("gzsht" is gozasht, not gusht)
            bones = self._fuzzy.by_skeleton(token.surface)
            if bones:
                return bones
        near = self._fuzzy.nearest(lang, token.surface)
        if lang == "fi":
            near = self._fuzzy.vowel_blind(token.surface) or near
            if near is None and dropped and not self._english(token):
                return self._fuzzy.by_skeleton(token.surface)
        return frozenset((near,)) if near else frozenset()

    def _token_keys(self, token: words.Token, dropped: bool, guarded: bool) -> tuple[_Keys, _Keys]:
        """A token's lexicon words in each language (see _keys), and those the self-harm signs'
        terms read, which take Finglish words on their consonants too. A word's readings depend
        on its spelling and the message's two flags only, and words recur: kept, as the stemmers
        keep theirs."""
        cache_key = (token.surface, token.lang, dropped, guarded)
        found = self._read_keys.get(cache_key)
        if found is None:
            # a word with no vowel after its first letter ("dxtrm", "psrm") is read on its
            # consonants even where the rest of the message keeps its vowels
            drop = dropped or (words.voweless(token.surface) and not self._english(token))
            keys = {lang: self._keys(token, lang, drop, guarded) for lang in LANGS}
            sh_keys = (
                keys
                if token.lang != "en" or self._english(token)
                else {**keys, "fi": keys["fi"] | self._sh_bones(token, guarded)}
            )
            found = (keys, sh_keys)
            if len(self._read_keys) < 65536:
                self._read_keys[cache_key] = found
        return found

    def _final_slip(self, surface: str) -> str | None:
        """A final ه typed as ع, the key beside it (and a chat spelling: "خفع میشم", "بچع"), in a
        word that is no common word as typed ("نوع" is a kind, not a grandchild)."""
        if not surface.endswith("ع") or len(surface) < 3 or words.common_persian(surface):
            return None
        key = words.fa_key(surface[:-1] + "ه")
        return key if key in self._words["fa"] else None

    def _short_stem(self, surface: str) -> str | None:
        """A two-letter lexicon word with a personal ending ("لبم", "تبش", "پاشو"): the suffix
        stripper keeps stems of three letters, so these would stay unread."""
        for end in words.FA_PERSONAL:
            stem = surface[: -len(end)]
            if surface.endswith(end) and len(stem) == 2 and stem in self._words["fa"]:
                return stem
        return None

    def _sh_bones(self, token: words.Token, guarded: bool = False) -> frozenset[str]:
        """A Finglish word of three letters or more read as the self-harm sign words with its
        consonants (two are enough: "dge" is dige, "hme" hame)."""
        surface = token.surface
        if len(surface) < 3 or not surface.isalpha() or not surface.isascii() or self._english_only(token, guarded):
            return frozenset()
        if surface in self._finglish_common:
            return frozenset()
        found = self._sh_read.get(surface)
        if found is None:
            bones = _bones(surface)
            candidates = self._sh_skeletons.get(bones, {}) if len(bones) >= 2 else {}
            found = frozenset(key for word, key in candidates.items() if _vowels_dropped(surface, word))
            if len(self._sh_read) < 65536:
                self._sh_read[surface] = found
        return found

    def _match_at(
        self,
        tokens: list[words.Token],
        keys: list[dict[str, frozenset[str]]],
        i: int,
        term: _Term,
        lang: str,
        order: tuple[str, ...] | None = None,
    ) -> int | None:
        """Where ``term`` ends when it starts at token i (its words in ``order``, by default as
        written). Up to two filler words ("really", "خیلی", "اصلا") may sit between its words:
        "سینه‌اش اصلاً بالا پایین نمیره"."""
        j, sentence, fillers = i + 1, tokens[i].sentence, self._filler_words
        for want in (order or term.keys)[1:]:
            skipped = 0
            while j < len(tokens) and skipped < 2 and want not in keys[j][lang] and tokens[j].surface in fillers:
                j, skipped = j + 1, skipped + 1
            if j >= len(tokens) or want not in keys[j][lang] or tokens[j].sentence != sentence:
                return None
            j += 1
        return j

    def _candidates(
        self,
        table: list[dict[str, frozenset[str]]],
        skippable: list[bool],
        i: int,
        lang: str,
        first: str,
        *,
        swapped: bool = False,
    ) -> Sequence[_Term]:
        """The terms that may start at token i with ``first`` (with their first two words swapped,
        if ``swapped``), in the order they are tried: all of them where a filler follows (it may
        stand between a term's words), else the one-word terms and those whose next word is a
        reading of the next token."""
        index, by_two = (self._swapped, self._swapped_by_two) if swapped else (self._index, self._by_two)
        if i + 1 >= len(table) or skippable[i + 1]:
            return index.get((lang, first), ())
        groups = [] if swapped else [self._single.get((lang, first), ())]
        groups += [by_two.get((lang, first, k), ()) for k in table[i + 1][lang]]
        found = [t for group in groups for t in group]
        if sum(1 for group in groups if group) <= 1:
            return found
        # each group keeps the order; merged, they take it back
        return sorted(found, key=lambda t: t.swapped_rank if swapped else t.rank)

    @staticmethod
    def _may_follow(
        table: list[dict[str, frozenset[str]]], skippable: list[bool], i: int, order: tuple[str, ...], lang: str
    ) -> bool:
        """Whether a term's second word (in ``order``) can follow token i: it is the next word, or
        a filler stands there (see _match_at)."""
        if len(order) < 2:
            return True
        j = i + 1
        return j < len(table) and (skippable[j] or order[1] in table[j][lang])

    def _find_terms(self, tokens: list[words.Token]) -> list[tuple[_Term, int, int]]:
        found: list[tuple[_Term, int, int]] = []
        latin = [t for t in tokens if t.lang == "en"]
        # a message mostly in English reads its common English words as English only ("same as
        # every month"); in a Finglish one they may be Finglish ("same mush", rat poison)
        guarded = len(latin) >= 2 and sum(words.common_english(t.surface) for t in latin) * 2 >= len(latin)
        dropped = words.drops_vowels(tokens, english=self._english)
        read = [self._token_keys(t, dropped, guarded) for t in tokens]
        keys = [k for k, _ in read]
        sh_keys = [k for _, k in read]
        n = len(tokens)
        # the word after each: a filler may stand between a term's words, anything else must be the
        # term's next word (checked here first: most terms fail there, and cheaply)
        skippable = [t.surface in self._filler_words for t in tokens] + [False]
        for i in range(n):
            for lang in LANGS:
                for first in sh_keys[i][lang]:
                    plain = first in keys[i][lang]  # not only a self-harm sign's consonant reading
                    for term in self._candidates(sh_keys, skippable, i, lang, first):
                        table = sh_keys if term.sh else keys
                        if (not term.sh and not plain) or not self._may_follow(table, skippable, i, term.keys, lang):
                            continue
                        end = self._match_at(tokens, table, i, term, lang)
                        if end is not None:
                            found.append((term, i, end))
                    for term in self._candidates(sh_keys, skippable, i, lang, first, swapped=True):
                        table = sh_keys if term.sh else keys
                        if (not term.sh and not plain) or not self._may_follow(table, skippable, i, term.swapped, lang):
                            continue
                        end = self._match_at(tokens, table, i, term, lang, term.swapped)
                        if end is not None:
                            found.append((term, i, end))
        # Some terms mean something else inside a longer one: "can not breathe" is not "not breathing".
        outer: dict[str, list[tuple[int, int]]] = {}
        for term, s, e in found:
            outer.setdefault(term.concept, []).append((s, e))
        return [
            (term, s, e)
            for term, s, e in found
            if not any(
                (os_, oe) != (s, e) and os_ <= s and e <= oe
                for concept in self._unless_inside.get(term.concept, ())
                for os_, oe in outer.get(concept, ())
            )
            and not any(t.surface in self._not_words.get(term.concept, ()) for t in tokens[s:e])
            and self._objects_kept(term, tokens[s:e])
            and not any(t.surface in self._not_after.get(term.concept, ()) for t in tokens[max(0, s - 3) : s])
        ]

    def _has_object(self, surface: str, lang: str) -> bool:
        """The word is one of object_endings' verbs with an object ending ("tamumesh", "دوستتون")."""
        by_word = self._object_endings.get(lang)
        if not by_word:
            return False
        spelled = words.fi_spelling(surface) if lang == "fi" else surface
        for word, endings in by_word.items():
            for ending in endings:
                bare = spelled[: -len(ending)]
                if spelled.endswith(ending) and (bare == word or (lang == "fi" and bare.replace("o", "u") == word)):
                    return True
        return False

    def _objects_kept(self, term: _Term, span: list[words.Token]) -> bool:
        """A term whose sign is in its object ending ("tamumesh mikonam") holds only where the
        message's word has one too: "proje ro tamum mikonam" finishes a project."""
        for k in term.objects:
            # its word's place, or with fillers between (see _match_at) the words of its stem
            same = (
                [span[k]] if len(span) == len(term.keys) else [t for t in span if t.keys.get(term.lang) == term.keys[k]]
            )
            if same and not any(self._has_object(t.surface, term.lang) for t in same):
                return False
        return True

    def _scan_cues(
        self,
        tokens: list[words.Token],
        cues: CueIndex,
        in_term: list[bool],
        spans: Sequence[tuple[int, int]] = (),
        *,
        negatable: bool = True,
        keys: list[str] | None = None,
        verb_closes: bool = False,
    ) -> set[int]:
        """Sentences holding a cue. A cue that is itself negated does not count
        ("no history of seizures", "sabeghe nadasht"). ``keys``: the tokens' cue keys, when
        the caller scans them for several cue sets. With ``verb_closes``, a cue that ends in its
        own verb is not negated by a verb after it ("khali bood, aslan nakhorde": it was empty,
        she did not take any)."""
        where: set[int] = set()
        keys = keys if keys is not None else [words.cue_key(t) for t in tokens]
        starts = _by_start(spans)
        for i, key in enumerate(keys):
            for cue in cues.get(key, ()):
                end = self._cue_end(tokens, keys, i, cue)
                if end is None:
                    continue
                if _inside_longer(starts, i, end):
                    continue  # a cue inside a longer lexicon term is part of it ("age man nabasham")
                forward = not (verb_closes and self._a_verb(tokens[end - 1]))
                if not (negatable and self._negated(tokens, i, end, in_term, forward=forward)):
                    where.add(i)
        return where

    def _scan_all(
        self, tokens: list[words.Token], in_term: list[bool], spans: Sequence[tuple[int, int]], keys: list[str]
    ) -> dict[str, set[int]]:
        """What _scan_cues finds for each of analyse's cue sets, in one pass over the words (each
        word looked up once; a cue's span checked once for all the sets that hold it)."""
        found: dict[str, set[int]] = {name: set() for name, _, _ in self._passes}
        starts = _by_start(spans)
        hidden: dict[tuple[int, int], bool] = {}
        negated: dict[tuple[int, int], bool] = {}
        for i, key in enumerate(keys):
            for k, cue in self._all_cues.get(key, ()):
                end = self._cue_end(tokens, keys, i, cue)
                if end is None:
                    continue
                name, negatable, in_longer = self._passes[k]
                span = (i, end)
                if in_longer:
                    inside = hidden.get(span)
                    if inside is None:
                        inside = hidden[span] = _inside_longer(starts, i, end)
                    if inside:
                        continue
                if negatable:
                    said_absent = negated.get(span)
                    if said_absent is None:
                        said_absent = negated[span] = self._negated(tokens, i, end, in_term)
                    if said_absent:
                        continue
                found[name].add(i)
        return found

    def _cue_end(self, tokens: list[words.Token], keys: list[str], i: int, cue: tuple[str, ...]) -> int | None:
        """Where ``cue`` ends when it starts at token i: its words in order, in one sentence, with
        up to two filler words between them as in a term ("coughed it all out", "fine now")."""
        j, sentence = i + 1, tokens[i].sentence
        for want in cue[1:]:
            skipped = 0
            while j < len(tokens) and skipped < 2 and keys[j] != want and tokens[j].surface in self._filler_words:
                j, skipped = j + 1, skipped + 1
            if j >= len(tokens) or keys[j] != want or tokens[j].sentence != sentence:
                return None
            j += 1
        return j

    @staticmethod
    def _widen(tokens: list[words.Token], where: set[int], scope: str, parts: list[int]) -> set[tuple[str, int]]:
        """The units (clauses, sentences or turns) that cues at these token positions frame. A
        sentence is framed up to the contrast after its cue: "my speech is fine but my face is
        drooping" frames the first part only, "I choked but I'm fine now" both."""
        if scope == "sentence":
            first: dict[int, int] = {}  # a sentence's first part (parts are numbered in order)
            for k, token in enumerate(tokens):
                first.setdefault(token.sentence, parts[k])
            last: dict[int, int] = {}  # the last part a cue of the sentence frames
            for i in where:
                last[tokens[i].sentence] = max(last.get(tokens[i].sentence, -1), parts[i])
            return {("part", p) for sentence, end in last.items() for p in range(first[sentence], end + 1)}
        return {(scope, getattr(tokens[i], scope)) for i in where}

    def _parts(self, tokens: list[words.Token]) -> list[int]:
        """Each token's part: its sentence cut at a contrast word ("but", "ولی", "vali")."""
        parts, part = [], -1
        for k, token in enumerate(tokens):
            if k == 0 or token.sentence != tokens[k - 1].sentence or token.surface in self._contrast:
                part += 1
            parts.append(part)
        return parts

    @staticmethod
    def _is(token: words.Token, lists: dict[str, set[str]]) -> bool:
        if token.lang == "en":  # Latin letters: English or Finglish
            return token.surface in lists.get("en", ()) or token.surface in lists.get("fi", ())
        return token.surface in lists.get(token.lang, ())

    def _negative(self, token: words.Token) -> bool:
        pattern = self._negative_verb.get("fi" if token.lang == "en" else token.lang)
        return pattern is not None and pattern.fullmatch(token.surface) is not None

    def _affirmative(self, token: words.Token) -> bool:
        """A positive verb ends the search for a negative one (درد سینه دارم و بابام خونه نیست)."""
        pattern = self._positive_verb.get("fi" if token.lang == "en" else token.lang)
        return pattern is not None and pattern.fullmatch(token.surface) is not None

    def _a_verb(self, token: words.Token) -> bool:
        """A positive verb, as typed or in the Finglish spelling fold ("bood" is bud)."""
        if self._affirmative(token) or token.surface.startswith(("می", "mi")):
            return True
        return token.lang == "en" and self._affirmative(replace(token, surface=words.fi_spelling(token.surface)))

    def _said_fine(self, tokens: list[words.Token], end: int, in_term: list[bool]) -> int | None:
        """Where the words right after a concept end that say it is absent or as it should be,
        past a copula or "also" ("seizure-free", "my speech is fine", "حرف زدنم هم خوبه"), or
        past another concept joined to it and then a plural copula ("speech and face are normal",
        but not "his face is drooping and speech is normal"); None if none."""
        if end == 0:
            return None
        i, joining, joined, copula = end, False, False, False
        while i < len(tokens) and i - end < (6 if joining else 3) and tokens[i].clause == tokens[end - 1].clause:
            if self._is(tokens[i], self._absent_after):
                return None if joining and not (joined and copula) else i + 1
            carries = self._plural_copula if joining else self._copula  # "speech and face are", "speech is"
            if (joined or not joining) and self._is(tokens[i], carries):
                copula = True
            elif not (copula or joining) and self._is(tokens[i], self._coordinators):
                joining = True
            elif joining and not copula and in_term[i]:
                joined = True
            else:
                return None
            i += 1
        return None

    def _negated(
        self, tokens: list[words.Token], start: int, end: int, in_term: list[bool], *, forward: bool = True
    ) -> bool:
        """English negation comes before what it governs ("no chest pain"); Persian and
        Finglish negate the verb after it ("درد سینه ندارم", "dard nadaram")."""
        sentence = tokens[start].sentence
        # Before: skip determiners and coordinated concepts, stop at the first other word.
        i, steps = start - 1, 0
        while i >= 0 and steps < 6 and tokens[i].sentence == sentence:
            token = tokens[i]
            if token.surface in self._breaks:
                break
            if not in_term[i] and self._is(token, self._negation):
                if not self._answers(tokens, i, steps, end):
                    return True
                break  # the verb after may still say it is absent ("نه، به خودکشی فکر نمیکنم")
            if not (in_term[i] or self._is(token, self._transparent)):
                break
            i, steps = i - 1, steps + 1
        # Right after: a word that says the concept is absent or as it should be (see _said_fine)
        fine = self._said_fine(tokens, end, in_term)
        if fine is not None:
            # ... unless a negative verb follows it: "normal nist" is "not normal"
            return not (fine < len(tokens) and self._negative(tokens[fine]))
        if not forward:
            return False
        # After: the verb the concept attaches to, past fillers and coordinated concepts only.
        i, steps = end, 0
        clause = tokens[end - 1].clause
        while i < len(tokens) and steps < 6 and tokens[i].clause == clause:
            token = tokens[i]
            if token.surface in self._breaks:
                break
            if not in_term[i] and self._negative(token):
                return True
            if self._affirmative(token) or not (in_term[i] or self._is(token, self._transparent)):
                break
            i, steps = i + 1, steps + 1
        return False

    def _answers(self, tokens: list[words.Token], i: int, steps: int, end: int) -> bool:
        """A "no" that answers rather than negates: "no," ending its clause, "no" before a person
        ("no he is still seizing"), or Persian "نه" before a time word (it negates
        the word right after it, "نه تب دارم نه سرفه", "نه اصلا درد سینه", not "نه هنوز داره تشنج
        میکنه")."""
        cue = tokens[i]
        rest = list(takewhile(lambda t: t.sentence == cue.sentence, tokens[i + 1 : i + 1 + ANSWER_REACH]))
        # (a negative inside the term itself is its own: "na na, ghors nabud" is a no before "it
        # wasn't pills", a take-back, not a no that a negative verb makes a denial)
        beyond = rest[max(0, end - i - 1) :]
        if any(self._negative(t) or self._is(t, self._negation) for t in beyond):
            return False  # "no, I'm not thinking of suicide", "نه، به خودکشی فکر نمیکنم": it is a denial
        if rest and rest[0].clause != cue.clause:
            return True
        if cue.surface not in self._bare_no:
            return False
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if after is None:
            return False
        person = after.surface in self._first_person or after.surface in self._pronouns
        return person or (cue.lang != "en" and steps > 0 and after.surface in self._answer_times)

    def _tokenize(self, turns: Sequence[str]) -> list[words.Token]:
        """A message's (or turns') words, each turn's layout slips read back as Persian first
        ("ktsl fhgh kldhn" is "نفسم بالا نمیاد", see ``keyboard_layout``)."""
        return words.tokenize_turns([keyboard_layout.restored(t) for t in turns], self._breaks, self._known_persian)

    def analyse(self, turns: Sequence[str]) -> _Analysis:
        tokens = self._read_correlatives(self._tokenize(turns))
        analysis = _Analysis(tokens)
        found = self._find_terms(tokens)
        in_term = [False] * len(tokens)
        for _, s, e in found:
            for k in range(s, e):
                in_term[k] = True
        # the negative verb that ends an all-clear ("مشکل تنفسی ندارم") governs the list before it
        # too: "تورم یا مشکل تنفسی ندارم" has no swelling
        for term, s, e in found:
            if term.concept in self._all_clear and e - s > 1 and self._negative(tokens[e - 1]):
                in_term[e - 1] = False
        spans = sorted({(s, e) for _, s, e in found if e - s > 1})
        for term, s, e in found:
            # "speech is fine" says that of speech: its "is fine" is no all-clear for the sentence
            # ("she is fine" still is one, and so is "alan khube": a person, a time or a pill is no sign)
            if (
                term.negative_form
                or term.concept in self._never_negated
                or term.concept in (SOMEONE_ELSE, self._drug_concept)
                or term.concept.startswith(SELF_HARM_SIGNS)
            ):
                continue
            fine = self._said_fine(tokens, e, in_term)
            if fine is not None:
                spans.append((s, fine))
        for term, s, e in found:
            if term.ends_in_first_person_verb and words.person_of_verb(tokens[e - 1].surface) == 3:
                # "dige nistam" (I will be no more) is no "hichi dige nist" (there is nothing more);
                # where the sign holds of someone else too, the lexicon says so in its own term
                continue
            if term.concept in self._parts_said_fine:
                fine = self._said_fine(tokens, e, in_term)
                if fine is not None and not (fine < len(tokens) and self._negative(tokens[fine])):
                    continue  # "my face and throat are fine": no sign's place
            if not (term.negative_form or term.concept in self._never_negated) and self._negated(
                tokens, s, e, in_term, forward=not term.ends_in_verb
            ):
                if term.concept not in self._never_negated and term.concept != SOMEONE_ELSE:
                    analysis.negated.add((s, e))
                continue
            analysis.matches.setdefault(term.concept, []).append(
                Match(term.concept, s, e, tokens[s].sentence, term.first_person)
            )
        # a term inside a longer one said as absent is absent too ("نه حالت تهوع": no تهوع)
        negated_starts = _by_start(analysis.negated)
        for concept, matches in list(analysis.matches.items()):
            if concept in self._never_negated or concept == SOMEONE_ELSE:
                continue
            kept = [m for m in matches if not _inside_longer(negated_starts, m.start, m.end)]
            if kept != matches:
                analysis.matches[concept] = kept
        for i in self._drug_names(tokens):
            if self._negated(tokens, i, i + 1, in_term):  # "۳۰ تا سرترالین نخوردم"
                analysis.negated.add((i, i + 1))
                continue
            analysis.matches.setdefault(self._drug_concept, []).append(
                Match(self._drug_concept, i, i + 1, tokens[i].sentence, False)
            )
        # a number right after a medicine is its strength ("aspirin 80 mikhore"), not a count of
        # pills, unless a count word follows it ("paracetamol 40 ta", "ibuprofen 40 tablets")
        strengths = {m.end for m in analysis.matches.get(self._drug_concept, ())}
        for concept, s, e in self._numbers(tokens):
            counted = s + 1 < len(tokens) and tokens[s + 1].surface in self._count_words
            if concept in self._count_concepts and s in strengths and not counted:
                continue
            analysis.matches.setdefault(concept, []).append(Match(concept, s, e, tokens[s].sentence, False))
            if concept == self._age["concept"]:  # "born 5 weeks ago" is an age, not history
                spans.append((s, e + 1))
        low_short, high_short = self._short_years
        years = {
            i
            for i, t in enumerate(tokens)
            if t.number is not None
            and "." not in t.surface
            and (
                any(low <= t.number <= high for low, high in self._years)
                # "سال ۹۸", "sale 98": a Solar Hijri year written short
                or (i > 0 and tokens[i - 1].surface in self._year_words and low_short <= t.number <= high_short)
            )
        }
        cued: dict[str, set[int]] = {}
        scanned = self._scan_all(tokens, in_term, spans, [words.cue_key(t) for t in tokens])
        analysis.parts = self._parts(tokens)
        for name, (_, scope) in self._frames.items():
            cued[name] = scanned[name]
            cued[name] |= years if name == "history" else set()
            if self._setting_words[name]:
                cued[name] = {
                    i
                    for i in cued[name]
                    if not any(t.surface in self._setting_words[name] for t in tokens[max(0, i - 3) : i])
                }
            if not cued[name]:
                continue  # no cue of this framing: nothing to widen (most framings, most messages)
            for unit in self._widen(tokens, cued[name], scope, analysis.parts):
                analysis.framed.setdefault(unit, set()).add(name)
        analysis.cues = cued
        analysis.cue_clauses = {name: {tokens[i].clause for i in where} for name, where in cued.items()}
        for t in tokens:
            analysis.clause_words.setdefault(t.clause, set()).add(t.surface)
            analysis.turn_words.setdefault(t.turn, set()).add(t.surface)
        for m in analysis.matches.get(SOMEONE_ELSE, ()):
            analysis.people.setdefault(tokens[m.start].turn, set()).add(tokens[m.start].surface)
        urgent = scanned[URGENT]
        analysis.urgent = {tokens[i].sentence for i in urgent}
        now = scanned[NOW]
        # the "now" of an all-clear ("alan okam", "fine now") says the sign is over, not going on
        resolved = cued.get(RESOLVED, set())
        now = {i for i in now if not any(r <= i < r + 3 and tokens[r].clause == tokens[i].clause for r in resolved)}
        analysis.now = {(tokens[i].sentence, tokens[i].clause) for i in now}
        restarted = scanned[RESTARTED]
        analysis.restarted = {tokens[i].sentence for i in restarted}
        caused = scanned[CAUSED]
        analysis.caused = {tokens[i].sentence for i in caused}
        sincere = {tokens[i].turn for i in scanned[SINCERE]}
        if sincere:
            self._drop_unreal(tokens, sincere, analysis)
        cued[CLOSING] = scanned[CLOSING]
        self._close_stories(tokens, cued, analysis)
        self._drop_cover_stories(tokens, analysis)
        for matches in analysis.matches.values():
            matches.sort(key=lambda m: m.start)
        return analysis

    def _drop_unreal(self, tokens: list[words.Token], turns: set[int], analysis: _Analysis) -> None:
        """A turn that says it means it ("asking for real, not for a story", "jedi migam") is no
        hypothetical, story or joke, whatever words of one it holds."""
        units = {
            unit
            for k, t in enumerate(tokens)
            if t.turn in turns
            for unit in (("clause", t.clause), ("sentence", t.sentence), ("part", analysis.parts[k]), ("turn", t.turn))
        }
        for unit in units & analysis.framed.keys():
            analysis.framed[unit] -= self._sincere_drops

    @staticmethod
    def _drop_cover_stories(tokens: list[words.Token], analysis: _Analysis) -> None:
        """A life event or a trip told to others as a cover ("she thinks I'm just decluttering",
        "told everyone I'm going on a trip, but there is no trip"), which the writer says is not
        the truth, explains nothing in that turn."""
        covered = {tokens[m.start].turn for m in analysis.matches.get(COVER_STORY, ())}
        if not covered:
            return
        turn_of: dict[tuple[str, int], int] = {}
        for k, token in enumerate(tokens):
            for unit in (("turn", token.turn), ("sentence", token.sentence), ("clause", token.clause)):
                turn_of[unit] = token.turn
            turn_of[("part", analysis.parts[k])] = token.turn
        for unit, frames in analysis.framed.items():
            if turn_of.get(unit) in covered:
                frames.difference_update(EVENTS)

    def _close_stories(self, tokens: list[words.Token], cued: dict[str, set[int]], analysis: _Analysis) -> None:
        """A turn that dates what it tells (history) and then says it ended well (a closing cue:
        "recovered", "the CT was clear") is a story: its sentences from the first date to the
        last closing cue are history, but one that speaks of now. What comes after the story
        closes is not ("...was discharged. He is not breathing.")."""
        now_sentences = {sentence for sentence, _ in analysis.now}
        for turn in {tokens[i].turn for i in cued.get("history", ())}:
            dated = [tokens[i].sentence for i in cued.get("history", ()) if tokens[i].turn == turn]
            closing = [tokens[i].sentence for i in cued.get(CLOSING, ()) if tokens[i].turn == turn]
            if not closing or max(closing) < min(dated):
                continue
            # Closed only if nothing after it in the turn speaks of now or of it coming back
            # ("...recovered. Now I want to do it again"): then it is history alone.
            end = max(closing)
            after = [t for t in tokens if t.turn == turn and t.sentence > end]
            reopened = any(t.sentence in now_sentences or t.surface in self._again for t in after)
            for sentence in set(range(min(dated), end + 1)) - now_sentences:
                analysis.framed.setdefault(("sentence", sentence), set()).add("history")
            # a crisis word is lowered only where the story dates or closes itself: "In 2020 I cut
            # myself. I want to kill myself. I was discharged" keeps its middle sentence
            if not reopened:
                for sentence in (set(dated) | set(closing)) - now_sentences:
                    analysis.framed.setdefault(("sentence", sentence), set()).add(CLOSED_STORY)

    def _read_correlatives(self, tokens: list[words.Token]) -> list[words.Token]:
        """ "Neither ... nor" (نه ... نه، na ... na): in a sentence with two of them, the positive
        verb after each, in its clause, is read negated ("نه نفس میکشه نه نبض داره" is "نفس
        نمیکشه، نبض نداره"), and the word is no number (نه is also nine)."""
        cues = [i for i, t in enumerate(tokens) if self._is(t, self._correlative)]
        if len(cues) < 2:
            return tokens
        # a cue right before another ("نه نه", no no), a number or a count ("نه تا", nine) is none;
        # each other cue's verb is the first positive verb after it in its clause, before any other cue
        valid = [
            i
            for i in cues
            if i + 1 < len(tokens)
            and tokens[i + 1].number is None
            and not self._is(tokens[i + 1], self._correlative)
            and tokens[i + 1].surface not in self._count_words
        ]
        verbs: dict[int, int] = {}
        for i in valid:
            for j in range(i + 1, min(i + 5, len(tokens))):
                t = tokens[j]
                if t.clause != tokens[i].clause or self._is(t, self._correlative) or self._negative(t):
                    break
                if self._affirmative(t):
                    verbs[i] = j
                    break
        per_sentence: dict[int, int] = {}
        for i in valid:
            per_sentence[tokens[i].sentence] = per_sentence.get(tokens[i].sentence, 0) + 1
        out = list(tokens)
        for i, j in verbs.items():
            if per_sentence[tokens[i].sentence] >= 2:
                out[i] = replace(tokens[i], number=None)
                out[j] = words.negated_verb(tokens[j])
        return out

    def _drug_names(self, tokens: list[words.Token]) -> list[int]:
        """Where a medicine is named by its pharmacological stem ("metoprolol", "سرترالین"),
        beside the lexicon's pills: never a word English or Persian uses often ("april")."""
        return [i for i, t in enumerate(tokens) if self._is_drug(t)]

    def _is_drug(self, t: words.Token) -> bool:
        if t.lang == "en":
            latin = len(t.surface) >= 7 and t.surface.isalpha() and self._drug_latin.search(t.surface) is not None
            return latin and not words.english_word(t.surface)
        if t.lang == "fa":
            persian = len(t.surface) >= 6 and any(self._drug_fa.search(w) for w in (t.surface, t.keys["fa"]))
            return persian and not words.common_persian(t.surface)
        return False

    def _numbers(self, tokens: list[words.Token]) -> list[tuple[str, int, int]]:
        """Counts ("took 30 pills", "۲۰ تا قرص") and young ages ("6 week old", "۴۰ روزه")."""
        out: list[tuple[str, int, int]] = []
        count = self._count
        for i, token in enumerate(tokens):
            if token.number is None:
                continue
            # an apostrophe inside a Finglish unit is no boundary ("1 mahe'ast" is "1 maheast")
            nxt = tokens[i + 1].surface.replace("'", "") if i + 1 < len(tokens) else ""
            after = tokens[i + 2].surface.replace("'", "") if i + 2 < len(tokens) else ""
            # a temperature right after its word ("تب ۳۸", "fever of 38.5") is no count of pills
            temperature = any(tokens[k].surface in self._fever_words for k in range(max(0, i - 2), i))
            # "week 20" is no count, but "yek ruz 25 ta ghors" is: a count word after it decides
            ordinal = (
                i > 0
                and self._ordinal_after.fullmatch(tokens[i - 1].surface) is not None
                and nxt not in self._count_words
            )
            ambiguous = token.surface in self._ambiguous_numbers and nxt not in self._count_words
            if (
                token.number >= count["min"]
                and not self._units.fullmatch(nxt)
                and not (temperature or ordinal or ambiguous)
            ):
                if not self._is_rate(tokens, i):
                    out.append((count["concept"], i, i + 1))
                else:
                    out.append((count["rate_concept"], i, i + 1))
                    if token.number >= count["rate_high"]:
                        out.append((count["rate_high_concept"], i, i + 1))
            # a measured temperature that is normal ("تب‌سنج ۳۶.۹", "now she's 36.8") is no fever
            low, high = self._fever["normal"]
            if low <= token.number <= high and ("." in token.surface or temperature):
                out.append((self._fever["normal_concept"], i, i + 1))
            if "." in token.surface or token.number >= 38:
                fever = self._fever
                if any(low <= token.number <= high for low, high in fever["ranges"]) and not self._not_fever.fullmatch(
                    nxt
                ):
                    out.append((fever["concept"], i, i + 1))
            # "34 weeks", or the week named first as Persian says it ("hafte 29", "هفته ۲۹ هست")
            week_first = i > 0 and 4 <= token.number <= 42 and self._weeks.fullmatch(tokens[i - 1].surface)
            if (token.number <= 42 and self._weeks.fullmatch(nxt) and after not in self._age["old"]) or week_first:
                span = (i - 1, i + 1) if week_first else (i, i + 2)
                out.append((self._age["weeks_concept"], *span))
                low, high = self._age["preterm"]
                if low <= token.number <= high:
                    out.append((self._age["preterm_concept"], *span))
            if self._young is not None and after not in self._age.get("was", ()):
                concept, most, aged_young, plain_young = self._young
                if token.number <= most and (
                    aged_young.fullmatch(nxt) or (plain_young.fullmatch(nxt) and after in self._age["old"])
                ):
                    out.append((concept, i, i + 2))
            for limit, plain, aged in self._age_units:
                # an age that was ("وقتی یک ماهه بود", "2 mahe bud"): the baby has grown since
                if token.number > limit or after in self._age.get("was", ()):
                    continue
                born = i > 0 and tokens[i - 1].surface == "born" and after == "ago"  # "born 5 weeks ago"
                # "7 hafte-she": a Finglish unit's ending typed apart ("34 weeks, she has" is no age)
                ending = after in self._age.get("old_fi", ()) and not words.common_english(nxt)
                if aged.fullmatch(nxt) or (plain.fullmatch(nxt) and (after in self._age["old"] or born or ending)):
                    out.append((self._age["concept"], i, i + 2))
                elif plain.fullmatch(nxt):
                    out.append((self._age["span_concept"], i, i + 2))
        return out

    def _is_rate(self, tokens: list[words.Token], i: int) -> bool:
        """A number said per day is a regimen, no count taken at once: "روزی ۱۲ تا قرص", "12 a
        day", "12 different pills a day", "16 paracetamol daily": the rate right after the count
        or its pill word, never "30 pills in a day", "30 pills a day ago" or "15 of my daily
        pills"."""
        if i > 0 and tokens[i - 1].surface in self._rate_before:
            return True
        starts = [i + 1]
        for j in (i + 1, i + 2):  # the pill word, after one other word at most
            if j < len(tokens) and (tokens[j].surface in self._count_words or self._is_drug(tokens[j])):
                starts.append(j + 1)
        for k in starts:
            for phrase in self._rate_after:
                end = k + len(phrase)
                if (
                    end <= len(tokens)
                    and tokens[k].clause == tokens[i].clause
                    and tuple(t.surface for t in tokens[k:end]) == phrase
                    and tokens[k - 1].surface not in self._rate_after_not
                    and (end == len(tokens) or tokens[end].surface not in self._rate_after_next_not)
                ):
                    return True
        return False

    # -- judging ----------------------------------------------------------------

    def _live(
        self, analysis: _Analysis, concepts: frozenset[str], category: _Category, despite: frozenset[str] = frozenset()
    ) -> list[Match]:
        """The matches of these concepts that the category's framings leave standing (a rule's
        slot); the same slot recurs across a category's rules, so each is read once a message."""
        key = (concepts, category.id, despite)
        cached = analysis.live.get(key)
        if cached is None:
            cached = analysis.live[key] = self._read_live(analysis, concepts, category, despite)
        return cached

    def _read_live(
        self, analysis: _Analysis, concepts: frozenset[str], category: _Category, despite: frozenset[str]
    ) -> list[Match]:
        out: list[Match] = []
        for concept in concepts:
            for m in analysis.matches.get(concept, ()):
                token = analysis.tokens[m.start]
                frames = set().union(
                    *(
                        analysis.framed.get(unit, ())
                        for unit in (
                            ("clause", token.clause),
                            ("sentence", token.sentence),
                            ("part", analysis.parts[m.start]),
                            ("turn", token.turn),
                        )
                    )
                )
                # "now" keeps a match in its own clause or the next one ("he is not breathing now").
                now = (m.sentence, token.clause) in analysis.now or (m.sentence, token.clause + 1) in analysis.now
                urgent = m.sentence in analysis.urgent or (category.kept_by_now and now)
                if m.concept in category.never_explained:
                    frames -= EVENTS
                lowering = (frames - despite) & category.frames
                if EDUCATIONAL in lowering and self._reported_beside_a_question(analysis, m):
                    lowering.discard(EDUCATIONAL)
                if ANIMAL in lowering and (self._said_of_oneself(analysis, m) or self._said_of_a_person(analysis, m)):
                    lowering.discard(ANIMAL)
                lowered = bool(lowering) and not urgent
                # a kept term resists only the framings it is kept against: "sometimes he stops
                # breathing for a few seconds when he snores, which doctor?" is still a story
                kept = (
                    category.keep_first_person
                    and m.first_person
                    and not (frames & STORIES and self._a_characters_line(analysis, m))
                    and bool(frames & category.keep_against)
                    # (a crisis term stays kept whatever else frames it: "I want to kill myself,
                    # what is the hotline? I lost my new job today")
                    and (category.crisis or not lowering - category.keep_against)
                    and not frames & category.lowered_always
                )
                if lowered and not kept:
                    continue
                out.append(m)
        out.sort(key=lambda m: m.start)
        return out

    def _a_characters_line(self, analysis: _Analysis, m: Match) -> bool:
        """The sign's clause names a character or a third person and not the writer: in a
        story's sentence, a first-person term is a line of the story's, not the writer's own."""
        said = analysis.clause_words.get(analysis.tokens[m.start].clause, set())
        return bool(said & self._story_speakers) and not said & self._first_person

    def _said_of_oneself(self, analysis: _Analysis, m: Match) -> bool:
        """The writer speaks of themself in the sign's clause ("she has cats, I'm asthmatic ...
        I'm still gasping"): a pet elsewhere in the message is no patient here."""
        clause = analysis.tokens[m.start].clause
        if clause in analysis.cue_clauses.get(ANIMAL, ()):
            return False  # "my goldfish isn't breathing, I think": the pet's own clause
        said = analysis.clause_words.get(clause, set())
        # "I think he's having a seizure": the writer speaks, of the pet
        return bool(said & self._first_person) and not said & self._pronouns

    def _said_of_a_person(self, analysis: _Analysis, m: Match) -> bool:
        """A person is named in the sign's sentence, and no animal ("lol my cat knocked the shelf
        over. anyway my roommate just coughed up blood"): the pet of another sentence is no
        patient here ("he", "she" may be the pet: they name no one)."""
        tokens = analysis.tokens
        if any(tokens[i].sentence == m.sentence for i in analysis.cues.get(ANIMAL, ())):
            return False
        return any(
            o.sentence == m.sentence and not all(t.surface in self._pronouns for t in tokens[o.start : o.end])
            for o in analysis.matches.get(SOMEONE_ELSE, ())
        )

    def _reported_beside_a_question(self, analysis: _Analysis, m: Match) -> bool:
        """A sign told of a named person in a sentence of its own, beside a how-to question
        elsewhere in the message ("babam oftad, sinash bala payin nemire, chest compression
        chejoori bayad bedam?"): a report, which the question does not make a lesson."""
        token = analysis.tokens[m.start]
        if token.clause in analysis.cue_clauses.get(EDUCATIONAL, ()):
            return False
        people = analysis.people.get(token.turn, set())
        # someone of one's own ("babam", "my dad"); a bare "he" or "she" only outside a lesson
        # (a case for an exam or a class: "she is 70, her face is drooping, what type of stroke?")
        if any(person not in self._pronouns for person in people):
            return True
        return bool(people) and not analysis.turn_words.get(token.turn, set()) & self._study_words

    def _spoilt(self, analysis: _Analysis, rule: _Rule, category: _Category) -> set[int]:
        """The sentences a rule's `unless` reads as explained. In the crisis category, whose
        first-person sign reads through a joke or a lesson, so does what explains it ("از دست این
        معلم میخوام خودمو بکشم 😂" is a joke and a figure of speech at once); elsewhere a framed
        spoiler is only asked about ("could this be bells palsy, his face is drooping")."""
        despite = category.frames if category.crisis else frozenset()
        return {m.sentence for m in self._live(analysis, rule.unless, category, despite=despite)}

    def _signals_hold(self, analysis: _Analysis, rule: _Rule, category: _Category) -> list[Match] | None:
        score, used = 0, []
        # a sign in a sentence that explains it ("cut myself cooking") is no sign
        spoilt = self._spoilt(analysis, rule, category) if rule.unless else set()
        for concept, weight in rule.signals.items():
            live = [m for m in self._live(analysis, frozenset([concept]), category) if m.sentence not in spoilt]
            # one sign said once: terms of the same concept that share a word are one ("dige khaste"
            # in "dige khaste shodam", "az in zendegi khaste" and "khaste shodam"): the longest
            longest: list[Match] = []
            for m in sorted(live, key=lambda m: (m.start, m.start - m.end)):
                if longest and m.start < longest[-1].end:
                    if m.end - m.start > longest[-1].end - longest[-1].start:
                        longest[-1] = m
                    continue
                longest.append(m)
            # and one word said twice is one sign ("cut my finger ... small cut")
            said: dict[tuple[str, ...], Match] = {}
            for m in longest:
                said.setdefault(tuple(t.surface for t in analysis.tokens[m.start : m.end]), m)
            distinct = list(said.values())[: 1 if concept in rule.once else 2]
            score += weight * len(distinct)
            used.extend(distinct)
        return used if score >= rule.at_least else None

    def _rule_holds(self, analysis: _Analysis, rule: _Rule, category: _Category) -> list[Match] | None:
        if rule.signals:
            return self._signals_hold(analysis, rule, category)
        # a slot none of whose concepts is said at all: no need to read any framing
        matches = analysis.matches
        for slot in rule.slots:
            if slot.isdisjoint(matches):
                return None
        used: list[Match] = []
        for slot in rule.also:
            live = self._live(analysis, slot, category, rule.despite if rule.also_despite else frozenset())
            if not live:
                return None
            used.append(live[0])
        if not rule.near:
            return used
        slots = [self._live(analysis, slot, category, rule.despite) for slot in rule.near]
        if any(not s for s in slots):
            return None
        anchors, others = slots[0], slots[1:]
        if rule.unless:
            spoilt = self._spoilt(analysis, rule, category)
            anchors = [a for a in anchors if a.sentence not in spoilt]
        for anchor in anchors:
            chosen = [anchor]
            for other in others:
                starts = [m.start for m in other]
                j = bisect_left(starts, anchor.start - rule.window)
                pick = None
                while j < len(other) and other[j].start <= anchor.end + rule.window:
                    m = other[j]
                    if (
                        analysis.tokens[m.start].turn == analysis.tokens[anchor.start].turn
                        or self._whole_turn(analysis, m)
                        or self._whole_turn(analysis, anchor)
                    ) and (not rule.ordered or m.start >= anchor.end):
                        pick = m
                        break
                    j += 1
                if pick is None:
                    break
                chosen.append(pick)
            else:
                return used + chosen
        return None

    @staticmethod
    def _whole_turn(analysis: _Analysis, m: Match) -> bool:
        """The match is its turn's only words: a bare answer ("۵ هفته" after "بچه‌ام داغه",
        "38.5" after "my baby is hot") is said of the turns before it."""
        tokens = analysis.tokens
        turn = tokens[m.start].turn
        return (m.start == 0 or tokens[m.start - 1].turn != turn) and (
            m.end == len(tokens) or tokens[m.end].turn != turn
        )

    def _judge(self, analysis: _Analysis) -> tuple[Hit, list[Match]] | None:
        said = analysis.matches
        for k, category in enumerate(self.categories):
            for rule in category.rules:
                if rule.slots and rule.slots[0].isdisjoint(said):
                    continue  # most rules: their first concept is not said (see _rule_holds)
                used = self._rule_holds(analysis, rule, category)
                if used is not None:
                    if category.crisis:
                        other = self._same_words(analysis, used, k)
                        if other is False:
                            break  # another category's words, which that category explains away
                        return other or (self._hit(category), used)
                    return self._hit(category), used
        return None

    @staticmethod
    def _hit(category: _Category) -> Hit:
        return Hit(category.id, category.reason, category.crisis, category.advice)

    def _same_words(
        self, analysis: _Analysis, used: list[Match], k: int
    ) -> tuple[Hit, list[Match]] | Literal[False] | None:
        """A crisis read only on words another category reads too ("my dad won't wake up" is
        someone unconscious, not a farewell): that category, whose instructions fit the person
        in front of the writer; False when that category's rules explain them away ("my teenager
        won't wake up for school": a sleep routine). A crisis with words of its own stays one ("I
        took all my pills, I won't wake up"; "I won't wake up" is the writer's own)."""
        others = analysis.matches.get(SOMEONE_ELSE, ())
        if not others:
            return None
        crisis = self.categories[k]
        used = [m for rule in crisis.rules for m in (self._rule_holds(analysis, rule, crisis) or ())]
        tokens = analysis.tokens
        for m in used:
            clause = tokens[m.start].clause
            # someone else named before the words, in their clause, and no "I" in it
            if not any(o.start < m.start and tokens[o.start].clause == clause for o in others):
                return None
            if any(t.clause == clause and t.surface in self._first_person for t in tokens):
                return None
        covered = False
        for category in self.categories[k + 1 :]:
            for rule in category.rules:
                # each of the crisis's words inside one of the other category's (not a part of it:
                # "overdosed" is no "overdose on purpose"), wherever the rule reads them ("my dad
                # collapsed, he is not waking up": the rule holds on "collapsed" already)
                said = [o for slot in rule.near for c in slot for o in analysis.matches.get(c, ())]
                if not all(any(o.start <= m.start and m.end <= o.end for o in said) for m in used):
                    continue
                covered = True
                other = self._rule_holds(analysis, rule, category)
                if other is not None:
                    return self._hit(category), other
        return False if covered else None

    @staticmethod
    def _explained(analysis: _Analysis) -> bool:
        """The rules read a life event in the text (a trip, a move, a wedding), or a song, a game
        or a story told: farewells, things given away and dark words are explained, which an
        n-gram model cannot tell."""
        return any(frames & EXPLAINED for frames in analysis.framed.values())

    def _second_opinion(
        self,
        text: str,
        hit: Hit | None,
        *,
        explained: bool = False,
        denied: bool = False,
        latest: str | None = None,
        pressing: bool = False,
    ) -> Hit | None:
        """The model's word on the rules' verdict: add a confident miss, drop a very unlikely hit.
        In a message the rules read as explained (a life event, a song, a story), the self-harm
        head alone adds nothing (the emergency head still may): "flying tomorrow, said goodbye
        to everyone" is no crisis."""
        if self.model is None:
            return hit
        emergency, self_harm = self.model.scores(text)
        if hit is not None:
            # A long message dilutes the n-grams that matter, a message of three words gives them
            # too little: the rules alone judge it.
            sized = self.model.veto_min_words <= len(text.split()) <= self.model.veto_max_words
            vetoed = sized and not pressing and hit.id not in self.model.never_vetoed and emergency < self.model.veto
            # turns read together: the latest, which made them an emergency, has its own say
            # ("how dangerous is amlodipine for kids?" then "my 3 year old got into the packet")
            if vetoed and latest is not None:
                vetoed = self.model.scores(latest)[0] < self.model.veto
            return None if vetoed else hit
        if denied:
            return None
        adds = emergency >= self.model.add if explained else self.model.adds(emergency, self_harm)
        return self._learned_hit(self_harm) if adds else None

    def _learned_hit(self, self_harm: float) -> Hit:
        crisis = self._category_by_id("self_harm")
        assert self.model is not None
        if self_harm >= min(0.5, self.model.add_self_harm) and crisis is not None:
            return Hit(crisis.id, crisis.reason, crisis.crisis, crisis.advice)
        return Hit(*LEARNED, crisis=False)

    def _category_by_id(self, cid: str) -> _Category | None:
        return next((c for c in self.categories if c.id == cid), None)

    def check(self, text: str) -> Hit | None:
        """The emergency in one message, or None."""
        return self._check(text, self.analyse([text]))[0]

    def _check(self, text: str, analysis: _Analysis) -> tuple[Hit | None, tuple[Hit, list[Match]] | None]:
        """The emergency in one analysed message, and the rules' own reading of it."""
        judged = self._judge(analysis)
        hit = self._second_opinion(
            text,
            judged[0] if judged else None,
            explained=self._explained(analysis),
            denied=self._denied(analysis),
            pressing=judged is not None and self._pressing(analysis, judged[1]),
        )
        return hit, judged

    def _pressing(self, analysis: _Analysis, used: list[Match]) -> bool:
        """The sign is said to be going on now ("he is still seizing", "right now"), or the
        emergency itself is claimed as going on ("دارم سکته میکنم"): the rules' reading stands,
        the model's n-grams do not veto it."""
        if any(m.concept in self._pressing_signs for m in used):
            # "na gerye mikone na sorfe", a 5-week-old "a bit warm" at 38.3: the sign is the
            # emergency however mildly it is put, and the rules read its framings
            return True
        if any(m.concept == self._count_concept and self._taken_count(analysis, m) for m in used):
            return True  # "has taken 30 ibuprofen, says it was an accident": the count is the sign
        if any(analysis.cues.get(frame) for frame in SETTLED):
            return False  # "had a stroke 3 years ago, his hand is still weak": still, but settled
        for m in used:
            clause = (m.sentence, analysis.tokens[m.start].clause)
            if m.sentence in analysis.urgent or m.sentence in analysis.restarted or clause in analysis.now:
                return True
            # the claim right after its progressive, or opening with it: "دارم سکته میکنم", "I am
            # having a heart attack", not "ریسک سکته دارم"
            if (
                m.concept in self._claims
                and m.sentence not in analysis.caused
                and any(
                    words.cue_key(t) in self._going_on
                    for t in analysis.tokens[max(0, m.start - 2) : m.start + 1]
                    if t.clause == analysis.tokens[m.start].clause
                )
            ):
                return True
        return False

    def _taken_count(self, analysis: _Analysis, count: Match) -> bool:
        """A count said with a verb of taking, in its clause: right after it ("taken 30", "took like
        30") or, in Persian order, right before it ("۲۰ تا قرص خورده")."""
        clause = analysis.tokens[count.start].clause
        return any(
            analysis.tokens[m.start].clause == clause
            and (count.start - 2 <= m.end <= count.start or count.end <= m.start <= count.end + 3)
            for concept in self._taking
            for m in analysis.matches.get(concept, ())
        )

    def _denied(self, analysis: _Analysis) -> bool:
        # an idiom the rules read ("khodamo koshtam ta in proje tamoom she": I worked myself to
        # death on this project) says its scary words as a figure: the n-grams still read them
        return analysis.denied(self._never_negated | {SOMEONE_ELSE}) or bool(analysis.cues.get(IDIOM))

    def denies(self, turns: Sequence[str]) -> bool:
        """Whether the turns say more of their terms as absent than as present, where the
        learned second opinion adds nothing (see _Analysis.denied)."""
        return self._denied(self.analyse(turns))

    def _says_taken_back(self, text: str) -> bool:
        tokens = self._tokenize([text])
        terms = self._find_terms(tokens)
        # a cue inside a longer term is part of it: "came out of nowhere" is a sudden onset, not
        # something coughed out
        cues = self._scan_cues(
            tokens, self._taken_back, [False] * len(tokens), [(s, e) for _, s, e in terms], verb_closes=True
        )
        # after a number a cue is an age, not an all-clear: "۶۰ سالمه" (I am 60), not "سالمه" (he is well)
        if any(i == 0 or tokens[i - 1].number is None for i in cues):
            return True
        # the pills counted and none gone ("shemordam hamash sar jashe", "all still in the strip")
        return any(term.concept == NONE_TAKEN for term, _, _ in terms)

    def _takes_back(self, recent: Sequence[str], analysis: _Analysis) -> bool:
        """The latest turn, which says it takes back an alarm, takes back the one the earlier turns
        raised: they were routed, and it is no emergency on its own (a turn that says the
        emergency again is routed: "thank god, she is still seizing"). Never for a crisis or a
        category the model never vetoes (someone not breathing); the earlier routing stands, only
        a second one is spared."""
        earlier = self._judge(self.analyse(recent[:-1]))
        if earlier is None or earlier[0].crisis or earlier[0].id in self._never_taken_back:
            return False
        # no emergency to the rules (``analysis`` is the latest turn's), or only to the model,
        # whose n-grams still read the alarm's words ("counted them, none missing"), or one the
        # model vetoes
        judged = self._judge(analysis)
        if judged is None:
            return True
        # the alarm's own words in an explanation that ends well ("false alarm, just one of those
        # big jerks you get dropping off to sleep, he's wide awake and chatting"), not said to go
        # on now; never new signs ("turns out he can't lift his arm either")
        well = (
            analysis.cues.get(RESOLVED)
            or analysis.cues.get(LAUGHING)
            or self._scan_cues(analysis.tokens, self._all_well, [False] * len(analysis.tokens))
        )
        if well and judged[0].id == earlier[0].id and not self._pressing(analysis, judged[1]):
            return True
        return self._second_opinion(recent[-1], judged[0], explained=self._explained(analysis)) is None

    def check_conversation(self, turns: Sequence[str], *, window: int = 3) -> Hit | None:
        """The emergency in the latest user turn, or in the last ``window`` user turns read
        together when the latest one adds to them (a symptom in one turn, its companion in
        the next). An emergency the earlier turns already showed is not raised again unless
        the latest turn still carries it."""
        recent = [t for t in turns if t.strip()][-window:]
        if not recent:
            return None
        taken_back = len(recent) > 1 and self._says_taken_back(recent[-1])
        latest = self.analyse([recent[-1]]) if taken_back else None
        if latest is not None and self._takes_back(recent, latest):
            return None
        together = self.analyse(recent) if len(recent) > 1 else None
        if together is not None:
            judged = self._judge(together)
            if judged is not None and any(together.tokens[m.start].turn == len(recent) - 1 for m in judged[1]):
                pressing = self._pressing(together, judged[1])
                hit = self._second_opinion("\n".join(recent), judged[0], latest=recent[-1], pressing=pressing)
                if hit is not None:
                    return hit
        hit, alone = self._check(recent[-1], latest or self.analyse([recent[-1]]))
        if hit is not None and taken_back and alone is None:
            return None  # a take-back's own words ("counted them, none missing"), which only the n-grams read
        if hit is not None or self.model is None or together is None:
            return hit
        # The model reads the turns together too, when the latest one tips them over (the earlier
        # turns were no emergency, to the rules or to the model), but not when it takes them back
        # ("found them, none missing": the words of the alarm, which the n-grams still read).
        if taken_back:
            return None
        emergency, self_harm = self.model.scores("\n".join(recent))
        if self._denied(together) or (self._explained(together) and emergency < self.model.add):
            return None
        if not self.model.adds(emergency, self_harm) or self._judge(self.analyse(recent[:-1])) is not None:
            return None
        return None if self.model.adds(*self.model.scores("\n".join(recent[:-1]))) else self._learned_hit(self_harm)
