"""Words as triage reads them: folded text, tokens, and one key per language.

Keys are what lexicon terms and messages are compared on, computed the same way on
both sides, so a lexicon written "chest hurts" also matches "chest hurting":
- English: Snowball's Porter2 stem (``snowballstemmer``);
- Persian: a light suffix stripper that knows spoken endings (سینم، نفسش، میکنه).
  hazm's Stemmer is not used here: it maps شدید (severe) to شد (became) and سینم to
  سین but سینه to سینه, so the same body part would get two keys;
- Finglish: a spelling fold (ee/i, oo/u, doubled letters, a final -eh) and the same
  suffix idea in Latin letters ("nafasam" -> "nafas", "sineh" -> "sin").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib.resources import files

import snowballstemmer
import yaml
from rapidfuzz.distance import OSA
from wordfreq import zipf_frequency

_FOLD = str.maketrans(
    {
        "ي": "ی",
        "ى": "ی",
        "ئ": "ی",
        "ك": "ک",
        "ة": "ه",
        "ۀ": "ه",
        "ؤ": "و",
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "\u0640": None,  # tatweel
        "\u0654": None,  # hamza above
        "\u200c": " ",  # ZWNJ: the parts become words; suffix words are dropped below
        "\u200d": None,
        "\u2019": "'",
        "\u2018": "'",
        "\u02bc": "'",
        "`": "'",
        "\u00b4": "'",
        **{chr(c): None for c in range(0x064B, 0x0653)},  # harakat
        "\u066b": ".",  # the Arabic decimal separator: "۳۸٫۵" is 38.5, not 38 and 5
        "\u066c": None,  # its thousands separator: "۱٬۰۰۰" is 1000
        **{chr(0x06F0 + d): str(d) for d in range(10)},
        **{chr(0x0660 + d): str(d) for d in range(10)},
    }
)

# English contractions, with and without the apostrophe that phones drop.
_CONTRACTIONS = [
    (re.compile(r"\bcan'?t\b|\bcannot\b"), "can not"),
    (re.compile(r"\bwon'?t\b"), "will not"),
    (re.compile(r"\bain'?t\b"), "is not"),
    (
        re.compile(r"\b(do|does|did|is|are|was|were|could|would|should|has|have|had|must|need)n'?t\b"),
        r"\1 not",
    ),
    # Scots: "cannae", "isnae", "didnae", "dinnae"
    (re.compile(r"\bcannae\b"), "can not"),
    (re.compile(r"\bdinnae\b"), "do not"),
    (re.compile(r"\b(is|was|are|were|did|does|could|would|should|has|have|had)nae\b"), r"\1 not"),
    (re.compile(r"\bi'?m\b"), "i am"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"'ll\b"), " will"),
    (re.compile(r"'d\b"), " would"),
    (re.compile(r"\b(he|she|it|that|there|what|who)'s\b"), r"\1 is"),
    (re.compile(r"'s\b"), ""),
    (re.compile(r"\bgonna\b"), "going to"),
    (re.compile(r"\bwanna\b"), "want to"),
    (re.compile(r"\bgotta\b"), "got to"),
    (re.compile(r"\bur\b"), "your"),  # chat spelling ("not ur fault")
]
_REPEATS = re.compile(r"(\w)\1{2,}")
# Laughing, swooning, eye-rolling and heart-break emoji are words here: they frame a sentence as a
# joke or a figure ("I literally stopped breathing when she said yes 😍").
_EMOJI = (
    "\U0001f602\U0001f923\U0001f605\U0001f606\U0001f494\U0001f480\U0001f62d\U0001f634\U0001f60d\U0001f970\U0001f644"
)
_TOKEN = re.compile(
    r"\d+(?:\.\d+)?|[a-z]+(?:'[a-z]+)?|[\u0621-\u063a\u0641-\u064a\u067e\u0686\u0698\u06a9\u06af\u06cc\u06c0]+"
    "|[" + _EMOJI + "]"
)
TOKEN = _TOKEN  # the words of a folded text (bots.triage_model reads them too)
# A lone dot ends a sentence (not the dot of "38.1"); dots in a row are a pause inside one, as
# phones type out of breath: "nafas.. nemitoonam.. harf bezanam.. komak" is one plea.
_SENTENCE_END = re.compile(r"[!?؟\n;؛]+|(?<!\.)\.(?![\d.])")
_CLAUSE_END = re.compile(r"[,،]| - |\.{2,}")
# A compound verb's preverb typed glued to it ("درنمیاد", "برنمیگردم", "darnemiad"): read apart,
# as the lexicon writes it. Not ور-: "ورمیکنه" is ورم (a swelling) + میکنه.
_PREVERB = re.compile(r"^(در|بر|فرو)(ن?می.{2,})$|^(dar|bar)((?:ne|n)?mi[a-z]{2,})$")

# Persian words that are only a suffix written apart (after ZWNJ or a space), and the
# object marker, which spoken Persian glues on or drops (خودمو / خودم را / خودم رو), also
# spoken endings typed after a ZWNJ (نامه‌مو، خسته‌م، ریسه‌ست).
_FA_DROP = frozenset(
    "ها های هایی هام هات هاش هایم هایت هایش هایمان هایتان هایشان"
    " ام ات اش ای ی ایم اید اند تر ترین شون مون تون را رو م مو ست".split()
)
_FA_SUFFIXES = (
    "هایشان هایمان هایتان هاشون هامون هاتون هایم هایت هایش های ها ترین تر شون مون تون"
    " شان مان تان یم ید ند ام ات اش ای م ت ش ی ه و ا"
).split()
# Personal endings, "my" and "his / her", alone and with the object marker: what a two-letter
# word carries ("لبم", "پاشو"; "your" -ت is left out: "سمت" is a side, not "your poison").
FA_PERSONAL = ("م", "ش", "مو", "شو", "مون", "شون")
_FI_SUFFIXES = (
    "hashun hamun haye hash ham ha eshun emun etun ashun amun atun shun mun tun esh ash am em at et emo amo o ro i e a"
).split()
_NUMBER_WORDS = {
    **dict.fromkeys(["one", "a", "an", "yek", "ye", "یک", "یه"], 1),
    **dict.fromkeys(["two", "do", "دو"], 2),
    **dict.fromkeys(["three", "se", "سه"], 3),
    **dict.fromkeys(["four", "chahar", "char", "چهار"], 4),
    **dict.fromkeys(["five", "panj", "پنج"], 5),
    **dict.fromkeys(["six", "shish", "shesh", "شش", "شیش"], 6),
    **dict.fromkeys(["seven", "haft", "هفت"], 7),
    **dict.fromkeys(["eight", "hasht", "هشت"], 8),
    **dict.fromkeys(["nine", "noh", "نه"], 9),
    **dict.fromkeys(["ten", "dah", "ده"], 10),
    **dict.fromkeys(["eleven", "twelve", "fifteen", "twenty", "bist", "بیست", "پونزده", "پانزده"], 15),
    **dict.fromkeys(["thirty", "si", "سی", "forty", "chehel", "چهل", "fifty", "پنجاه", "hundred", "صد", "sad"], 30),
    **dict.fromkeys(["dozen", "dozens"], 12),
}

_english = snowballstemmer.stemmer("english")


@dataclass
class Token:
    surface: str  # the folded word
    lang: str  # "en" for Latin letters (English or Finglish), "fa" for Arabic script, "num"
    sentence: int
    turn: int
    clause: int  # commas end a clause: negation does not reach across one (but English lists may)
    keys: dict[str, str] = field(default_factory=dict)
    number: float | None = None


# Finglish writes some letters as digits and signs: 3 for ein (ma3ni, 3ofunat), 2 for hamze,
# 7 for he (7amele), 8 for ghaf (8orse, 8alb), $ for shin ($adid). A digit before a unit or a
# clock word stays a number ("8am", "8ish", "2ta", "3sal"): 7 and 8 open a word only before a
# vowel and two more letters.
_FINGLISH_DIGIT = re.compile(
    r"(?<=[a-z])[2378$](?=[a-z])|(?<![\w.])[23](?=[a-z]{2})|(?<![\w.])[78](?=[aeiou][a-z]{2})(?!ish\b)"
    r"|(?<![\w$])\$(?=[a-z]{2})"
)
_INNER_HAMZA = re.compile(r"(?<=[\u0620-\u064a\u067e-\u06d3])ء(?=[\u0620-\u064a\u067e-\u06d3])")
_FINGLISH_LETTER = {"7": "h", "8": "gh", "$": "sh"}


def fold(text: str) -> str:
    """Lower case, one spelling for each letter and digit, contractions expanded."""
    text = text.translate(_FOLD).lower()
    if any(d in text for d in "2378$"):
        text = _FINGLISH_DIGIT.sub(lambda m: _FINGLISH_LETTER.get(m.group(), ""), text)
    if (
        "'" in text
        or "nt" in text
        or "nn" in text
        or "tt" in text
        or "im" in text
        or "wont" in text
        or "ur" in text
        or "nae" in text
    ):
        for pattern, repl in _CONTRACTIONS:
            text = pattern.sub(repl, text)
    if "ء" in text:  # a hamza typed inside a word for ئ ("علاءم" is علائم, علایم)
        text = _INNER_HAMZA.sub("ی", text)
    return _REPEATS.sub(r"\1", text)


def _strip(
    word: str, suffixes: Sequence[str], *, min_stem: int = 3, rounds: int = 2, whole: frozenset[str] = frozenset()
) -> str:
    for _ in range(rounds):
        if word in whole:
            break  # a whole word reached: "داداشم" is داداش, not داد (gave)
        for suffix in suffixes:
            if word.endswith(suffix) and len(word) - len(suffix) >= min_stem:
                word = word[: -len(suffix)]
                break
        else:
            break
    return word


# Words whose last letters are no suffix (دارو is no دار, داداش no داد): data, beside the lexicon.
_WHOLE: dict[str, list[str]] = yaml.safe_load(
    files("bots").joinpath("data/triage_stems.yaml").read_text(encoding="utf-8")
)["whole_words"]
_FA_WHOLE = frozenset(_WHOLE["fa"])


@lru_cache(maxsize=65536)
def fa_key(word: str) -> str:
    if word in _FA_WHOLE:
        return word
    # A formal third-person verb ends in -د where speech says -ه (میزند / میزنه): both -> میزن.
    if word.startswith(("می", "نمی")) and word.endswith("د") and not word.endswith(("ند", "ید")) and len(word) > 4:
        word = word[:-1]
    return _strip(word, _FA_SUFFIXES, whole=_FA_WHOLE)


@lru_cache(maxsize=65536)
def en_key(word: str) -> str:
    return _english.stemWord(word.replace("'", ""))


# A Latin word this frequent in English (Zipf scale: 4 is once in 100,000 words: "same",
# "lab", "dad") is taken for English where a Finglish reading would need more than its spelling.
COMMON_ENGLISH_ZIPF = 4.0
ENGLISH_WORD_ZIPF = 3.0  # once in a million words: "spouses"
RARE_ENGLISH_ZIPF = 2.0  # below this a Latin word is no English word a chat would use


@lru_cache(maxsize=65536)
def english_word(word: str) -> bool:
    """A Latin word English uses (once in a million words: "spouses"), never read on its consonants."""
    return word.isascii() and word.isalpha() and zipf_frequency(word, "en") >= ENGLISH_WORD_ZIPF


@lru_cache(maxsize=65536)
def common_english(word: str) -> bool:
    return word.isascii() and word.isalpha() and zipf_frequency(word, "en") >= COMMON_ENGLISH_ZIPF


@lru_cache(maxsize=65536)
def zipf_persian(word: str) -> float:
    # the fold wrote آ as ا; wordfreq's list keeps آ ("ازمایشگاه" is آزمایشگاه)
    frequency = zipf_frequency(word, "fa")
    if word.startswith("ا"):
        frequency = max(frequency, zipf_frequency("آ" + word[1:], "fa"))
    return float(frequency)


def common_persian(word: str) -> bool:
    return zipf_persian(word) >= COMMON_PERSIAN_ZIPF


def persian_word(word: str) -> bool:
    """A common Persian word, or one with one or two endings ("دستشوییش", "باردارم")."""
    return (
        common_persian(word)
        or common_persian(fa_key(word))
        or any(
            common_persian(word[: -len(end)]) for end in _FA_SUFFIXES if word.endswith(end) and len(word) > len(end) + 2
        )
    )


COMMON_PERSIAN_ZIPF = 3.0  # a piece of a glued word must be this common (once in a million words)
GLUED_MEAN_ZIPF = 4.0  # and its pieces this common on average
# a whole message typed without spaces ("بابامنفسنمیکشهنبضمنداره") is many pieces: one per four
# letters at most
_GLUED_MAX_PIECES = 10
# a glued word is cut only between 5 and 40 letters, into pieces of at most 15: the search is
# then bounded per word (a 100,000-letter run is left whole, not searched in cubic time)
_GLUED_MIN, _GLUED_MAX, _PIECE_MAX = 5, 40, 15


def _likeliest_pieces(
    word: str,
    zipf_of: Callable[[str, bool], float],
    *,
    least: float,
    shortest: int,
    longest: int,
    most: int,
    mean: float,
) -> tuple[str, ...]:
    """``word`` read as the likeliest run of common words (the sum of their log frequencies), each
    of ``shortest`` to ``longest`` letters and as common as ``least`` (``zipf_of(piece, last)``),
    ``most`` of them at most and two at least, when they are ``mean`` common on average; else
    as written. The search is bounded per letter: linear in the word."""
    n = len(word)
    # best[i]: the likeliest spelling of word[:i], its piece count, and where its last piece starts
    best: list[tuple[float, int, int] | None] = [None] * (n + 1)
    best[0] = (0.0, 0, 0)
    for end in range(shortest, n + 1):
        for start in range(max(0, end - longest), end - shortest + 1):
            before = best[start]
            if before is None or before[1] >= most:
                continue
            zipf = zipf_of(word[start:end], end == n)
            if zipf < least:
                continue
            score = before[0] + zipf - 9.0
            current = best[end]
            if current is None or score > current[0]:
                best[end] = (score, before[1] + 1, start)
    found = best[n]
    if found is None or found[1] < 2 or 9.0 + found[0] / found[1] < mean:
        return (word,)
    pieces, end = [], n
    while end:
        start = best[end][2]  # type: ignore[index]
        pieces.append(word[start:end])
        end = start
    return tuple(reversed(pieces))


@lru_cache(maxsize=65536)
def unglue(word: str) -> tuple[str, ...]:
    """Persian typed without spaces ("میگوخورد", "دردخیلی شدیده", "نفسنمیکشه"): a word that is
    no Persian word, nor one with its endings off, read as the likeliest common words it is
    made of (wordfreq's Persian list; the last may carry endings), each of three letters or more,
    when they are common enough on average; else as written."""
    if not _GLUED_MIN <= len(word) <= _GLUED_MAX or not ("\u0600" <= word[0] <= "\u06ff") or persian_word(word):
        return (word,)
    n = len(word)

    def zipf_of(piece: str, last: bool) -> float:
        zipf = zipf_persian(piece)
        if zipf < COMMON_PERSIAN_ZIPF and (last or n >= 16):
            # a piece with its endings: the last one, or any in a long run ("نبضم")
            zipf = zipf_persian(fa_key(piece)) - 0.5
        return zipf

    return _likeliest_pieces(
        word,
        zipf_of,
        least=COMMON_PERSIAN_ZIPF,
        shortest=3,
        longest=_PIECE_MAX,
        most=min(_GLUED_MAX_PIECES, max(4, n // 4)),
        mean=GLUED_MEAN_ZIPF,
    )


# English typed without spaces ("dadchokingonsteakcantspeakhelp"): a Latin run of this many letters
# or more that is no word, cut into common English words (two letters or more, "i" and "a" too)
_LATIN_GLUED_MIN, _LATIN_PIECE_MAX = 12, 15
LATIN_GLUED_MEAN_ZIPF = 4.5  # English pieces are short and common: Finglish runs fall below this
# the short pieces an English run may hold ("am", a Finglish ending, is none of them)
_SHORT_ENGLISH = frozenset("a i on up at in is it my me he we to of no so do go an or be by us if im".split())


def _english_piece_zipf(piece: str, last: bool) -> float:
    return 0.0 if len(piece) <= 2 and piece not in _SHORT_ENGLISH else float(zipf_frequency(piece, "en"))


@lru_cache(maxsize=65536)
def unglue_latin(word: str) -> tuple[str, ...]:
    """An English message typed without spaces read as its likeliest common English words (as
    `unglue` does for Persian), when they are common on average; else as written (a Finglish
    word: "khodamokoshtam" is no run of English words)."""
    if not _LATIN_GLUED_MIN <= len(word) <= _GLUED_MAX * 2 or not (word.isascii() and word.isalpha()):
        return (word,)
    if zipf_frequency(word, "en") > 0:
        return (word,)
    return _likeliest_pieces(
        word,
        _english_piece_zipf,
        least=ENGLISH_WORD_ZIPF,
        shortest=1,
        longest=_LATIN_PIECE_MAX,
        most=len(word),
        mean=LATIN_GLUED_MEAN_ZIPF,
    )


_FI_GLIDE = re.compile(r"(?<=[aeiou])y(?=[ie])|(?<=i)y(?=[aou])")


@lru_cache(maxsize=65536)
def fi_spelling(word: str) -> str:
    w = word.replace("'", "").replace("ee", "i").replace("oo", "u").replace("ou", "u")
    w = w.replace("w", "v").replace("q", "gh").replace("aa", "a").replace("x", "kh")
    # ی after a vowel is typed at will as y or i: kheyli / kheili, ghey / ghei, beyn / bein
    w = w.replace("ey", "ei")
    # the hiatus of پایین, دایی, سیاه is typed at will: payin, paein, paeen, paiin; dayi, daei; siyah, siah
    w = _FI_GLIDE.sub("", w).replace("aei", "ai")
    w = re.sub(r"(.)\1+", r"\1", w)
    if w.endswith("eh") and len(w) > 3:
        w = w[:-1]
    return w


_FI_PRONOUN = re.compile(r"(?<=[aeiu])(m|t|sh)$")  # galum (my throat), pash (his leg): the suffix after a vowel


_FI_WHOLE = frozenset(_WHOLE["fi"])


@lru_cache(maxsize=65536)
def fi_key(word: str) -> str:
    spelled = fi_spelling(word)
    stripped = _strip(spelled, _FI_SUFFIXES, whole=_FI_WHOLE)
    # the pronoun is off too when only the object marker was ("gushisho" is gushi-sh-o: gushish)
    if spelled in (stripped, stripped + "o") and len(stripped) > 4:
        stripped = _FI_PRONOUN.sub("", stripped)
    return _fi_vav(stripped)


def _fi_vav(stem: str) -> str:
    """Colloquial و is typed o or u at will ("tamom" / "tamum", "miboram" / "mibouram"): a stem
    is compared without the difference (after the endings are off, which differ), when it is
    long enough not to become some other short word ("sor" / "sur")."""
    return stem.replace("o", "u") if len(stem) >= 4 else stem


@lru_cache(maxsize=65536)
def fi_stems(word: str) -> tuple[str, ...]:
    """Every reading of a Finglish word with one ending off, where fi_key takes the first ending
    that fits: "halgham" is halgh-am (my throat), not halg-ham."""
    spelled = fi_spelling(word)
    stems = []
    for suffix in _FI_SUFFIXES:
        if spelled.endswith(suffix) and len(spelled) - len(suffix) >= 3:
            stems.append(_fi_vav(spelled[: -len(suffix)]))
    return tuple(stems)


def _number(surface: str) -> float | None:
    if surface[0].isdigit():
        try:
            return float(surface)
        except ValueError:
            return None
    value = _NUMBER_WORDS.get(surface)
    return float(value) if value is not None else None


# Unpunctuated text (voice typing, run-on messages) is cut into clauses of at most this many
# words, so that a negation or a framing cue cannot reach across a whole message.
RUN_ON_CLAUSE = 16


def tokenize(
    text: str,
    *,
    turn: int = 0,
    first_sentence: int = 0,
    breaks: frozenset[str] = frozenset(),
    known: Callable[[str], bool] | None = None,
) -> list[Token]:
    """Words with their sentence and clause. A clause ends at a comma, before a word in
    ``breaks`` ("but", "now", اما، الان) and after RUN_ON_CLAUSE words: negation and history
    stay inside one. With ``known`` (for a message's words, not a lexicon's), a Persian word
    typed glued to the next is cut apart (`unglue`), unless ``known`` says it is a word."""
    text = fold(unicodedata.normalize("NFKC", text))
    tokens: list[Token] = []
    sentence = first_sentence
    pending_mi = ""
    clause = turn * 10**9
    for part in _SENTENCE_END.split(text):
        words = []
        for piece in _CLAUSE_END.split(part):
            clause += 1
            length = 0
            # the preverb first: "برنمیگردم" is بر + نمیگردم, not unglued into برن + میگردم
            found = [w for word in _TOKEN.findall(piece) for w in _preverb_apart(word)]
            if known is not None:
                found = [w for word in found for w in ((word,) if known(word) else unglue(word))]
                found = [w for word in found for w in unglue_latin(word)]
            found = _fi_prefixes_joined(found)
            for word in found:
                if word in breaks or length == RUN_ON_CLAUSE:
                    clause, length = clause + 1, 0
                words.append((word, clause))
                length += 1
        for word, clause in words:
            if word[0].isdigit():
                keys = {"en": word, "fa": word, "fi": word}
                tokens.append(Token(word, "num", sentence, turn, clause, keys, _number(word)))
                continue
            if word in _EMOJI:
                tokens.append(Token(word, "sym", sentence, turn, clause, {}, None))
                continue
            if word[0].isascii():
                keys = {"en": en_key(word), "fi": fi_key(word)}
                tokens.append(Token(word, "en", sentence, turn, clause, keys, _number(word)))
                continue
            if word in ("می", "نمی"):  # a verb prefix written apart: می خوام -> میخوام
                pending_mi = word
                continue
            if word in _FA_DROP and tokens and tokens[-1].lang == "fa" and not pending_mi:
                continue
            word = pending_mi + word
            pending_mi = ""
            tokens.append(Token(word, "fa", sentence, turn, clause, {"fa": fa_key(word)}, _number(word)))
        sentence += 1
    return tokens


# Finglish verb and adjective prefixes typed apart, as Persian's می is ("mi larze", "bi hoosh"):
# read joined, as the lexicon mostly writes them.
_FI_PREFIXES = frozenset(("mi", "nemi", "bi"))


def _fi_prefixes_joined(found: list[str]) -> list[str]:
    out: list[str] = []
    for word in found:
        # never before an English word ("an mi last year": a myocardial infarction, then a year)
        if out and out[-1] in _FI_PREFIXES and word.isascii() and word.isalpha() and not common_english(word):
            out[-1] += word
        else:
            out.append(word)
    return out


def _preverb_apart(word: str) -> tuple[str, ...]:
    found = _PREVERB.match(word)
    if found is None or common_english(word):
        return (word,)
    return tuple(part for part in found.groups() if part)


def negated_verb(token: Token) -> Token:
    """The token's verb said as absent: میکشه -> نمیکشه, داره -> نداره, هست -> نیست; mikeshe ->
    nemikeshe, dare -> nadare."""
    surface = token.surface
    if token.lang == "fa":
        said = "نیست" + surface[3:] if surface.startswith("هست") else "ن" + surface
        return replace(token, surface=said, keys={"fa": fa_key(said)})
    if surface.startswith("hast"):
        said = "nist" + surface[4:]
    else:
        said = ("ne" if surface.startswith("mi") else "na") + surface
    return replace(token, surface=said, keys={"en": en_key(said), "fi": fi_key(said)})


def tokenize_turns(
    turns: Sequence[str], breaks: frozenset[str] = frozenset(), known: Callable[[str], bool] | None = None
) -> list[Token]:
    tokens: list[Token] = []
    sentence = 0
    for turn, text in enumerate(turns):
        part = tokenize(text, turn=turn, first_sentence=sentence, breaks=breaks, known=known)
        tokens.extend(part)
        sentence = (part[-1].sentence + 1) if part else sentence + 1
    return tokens


@lru_cache(maxsize=65536)
def _fa_cue(word: str) -> str:
    # "داستان" (a story) is no "داس" (a sickle) with "your" after it
    return word if word in _FA_WHOLE else _strip(word, _FA_SUFFIXES, rounds=1)


_FA_VERB_PERSON: tuple[tuple[str, int], ...] = (("م", 1), ("ه", 3), ("د", 3))
_FI_VERB_PERSON: tuple[tuple[str, int], ...] = (("am", 1), ("e", 3), ("eh", 3), ("ad", 3))
# "to be", which has no prefix: نیستم / nistam (I am not) against نیست / nist (there is not)
_COPULA_PERSON = {"نیستم": 1, "هستم": 1, "nistam": 1, "hastam": 1, "نیست": 3, "هست": 3, "nist": 3, "hast": 3}


def person_of_verb(surface: str) -> int | None:
    """The person of a present-tense Persian or Finglish verb, by its ending: 1 for میکنم /
    mikonam, نیستم / nistam; 3 for میکنه / mikone, mikonad, نیست / nist; None for anything
    else (a plural, a noun)."""
    if surface in _COPULA_PERSON:
        return _COPULA_PERSON[surface]
    if surface.startswith(("می", "نمی")):
        endings = _FA_VERB_PERSON
    elif surface.startswith(("mi", "nemi")) and surface.isascii():
        endings = _FI_VERB_PERSON
    else:
        return None
    for ending, person in endings:
        if surface.endswith(ending) and not surface.endswith(("ند", "and", "id", "ید", "im", "یم")):
            return person
    return None


def cue_key(token: Token) -> str:
    """How framing cues compare: spelling folded (Finglish "khoob" = "khub"), no stemming."""
    if token.lang == "en":
        return fi_spelling(token.surface)
    if token.lang == "fa":  # one suffix off (بغضی -> بغض), not two (خوابیدم must not become خواب)
        return _fa_cue(token.surface)
    return token.surface


class FuzzyIndex:
    """A word one edit (or a swap) away from a lexicon word of five letters or more counts as it:
    "chokng", "unconcious", "سرگیحه". Compared on folded surfaces, bucketed by first letter."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], dict[str, str]] = {}
        # Finglish only: lexicon words by their o/u-blind spelling, and by their consonants
        self._vowel_blind: dict[str, set[str]] = {}
        self._skeletons: dict[str, set[str]] = {}
        self._folded_skeletons: dict[str, set[str]] = {}

    def add(self, lang: str, surface: str, key: str) -> None:
        if len(surface) >= 5:
            self._buckets.setdefault((lang, surface[0]), {})[surface] = key
        if lang == "fi" and len(surface) >= 3 and surface.isalpha():
            self._vowel_blind.setdefault(surface.replace("o", "u"), set()).add(key)
            self._skeletons.setdefault(skeleton(surface), set()).add(key)
            # and by its folded spelling: "dxtrm" (x for kh) is dokhtaram's consonants
            self._folded_skeletons.setdefault(skeleton(fi_spelling(surface)), set()).add(key)

    def vowel_blind(self, surface: str) -> str | None:
        """A Finglish word that differs from a lexicon word only in o for u ("hosh" / "hush")."""
        found = self._vowel_blind.get(surface.replace("o", "u"), set()) if len(surface) >= 3 else set()
        return next(iter(found)) if len(found) == 1 else None

    def by_skeleton(self, surface: str) -> frozenset[str]:
        """A vowel-dropped Finglish word ("nfsm", "bkshm") by its consonants: every lexicon word
        that has them; used only in messages typed that way (see `drops_vowels`)."""
        if not surface.isalpha() or len(surface) < 3:
            return frozenset()
        bones = skeleton(surface)
        found = set(self._skeletons.get(bones, ())) if len(bones) >= 3 else set()
        if not found and surface != fi_spelling(surface):
            folded = skeleton(fi_spelling(surface))
            found = set(self._folded_skeletons.get(folded, ())) if len(folded) >= 3 else set()
        if not found and len(bones) >= 4:
            # "v" typed for the vowel و ("nvzd" is nozad), and a personal ending ("gijm" is gij-am)
            for variant in (bones[0] + bones[1:].replace("v", ""), bones[:-1] if bones[-1] in "mt" else ""):
                if len(variant) >= 3 and variant != bones:
                    found |= self._skeletons.get(variant, set())
        return frozenset(found)

    @lru_cache(maxsize=65536)  # noqa: B019 - one index per process, kept for its lifetime
    def nearest(self, lang: str, surface: str) -> str | None:
        if len(surface) < 5 or surface[0].isdigit():
            return None
        found: dict[str, str] = {}
        # Finglish spells a word's first vowel at will ("astaminofen" / "estaminofen")
        firsts = _FI_VOWELS if lang == "fi" and surface[0] in _FI_VOWELS else surface[0]
        candidates = [item for first in firsts for item in self._buckets.get((lang, first), {}).items()]
        for candidate, key in candidates:
            if abs(len(candidate) - len(surface)) <= 1 and OSA.distance(surface, candidate, score_cutoff=1) <= 1:
                found[candidate] = key
        keys = set(found.values())
        if len(keys) > 1 and lang == "fi":
            # Finglish writes colloquial و as o or u at will ("tamom" / "tamum"): that reading wins a tie.
            keys = {key for candidate, key in found.items() if _vowel_variant(surface, candidate)}
        return keys.pop() if len(keys) == 1 else None  # two lexicon words equally near: too unsure


_FI_VOWELS = "aeiou"


def _vowel_variant(a: str, b: str) -> bool:
    return len(a) == len(b) and [{x, y} for x, y in zip(a, b, strict=True) if x != y] == [{"o", "u"}]


_VOWELS = re.compile(r"[aeiou]")


def skeleton(surface: str) -> str:
    """A Latin-script word without the vowels after its first letter."""
    return surface[:1] + _VOWELS.sub("", surface[1:])


_DIGRAPHS = re.compile(r"kh|gh|sh|ch|zh")
_CLUSTER_START = re.compile(r"[^aeiou][^aeiouy]")


def voweless(surface: str) -> bool:
    """A Latin word typed without its vowels: four letters or more with no vowel after its
    first ("dxtrm", "krdm"), or one that opens on two consonants, which no Persian word does
    ("qrsaye", "psrm"; kh, gh, sh, ch and zh are one letter)."""
    if len(surface) < 4 or not surface.isascii() or not surface.isalpha():
        return False
    if not _VOWELS.search(surface[1:]):
        return True
    clustered = bool(_CLUSTER_START.match(_DIGRAPHS.sub("K", fi_spelling(surface))))
    return clustered and zipf_frequency(surface, "en") < RARE_ENGLISH_ZIPF  # "spouses" is English


def drops_vowels(tokens: list[Token], english: Callable[[Token], bool] = lambda _: False) -> bool:
    """A message typed without vowels ("nfsm bala nmiad nmitunm hrf bznm"): a quarter or more of
    its Latin words of three letters or more keep at most one vowel after the first letter
    (people drop vowels in the words they type most, not in all of them)."""
    words = [
        t.surface
        for t in tokens
        if t.surface.isascii() and t.surface.isalpha() and len(t.surface) >= 3 and not english(t)
    ]
    if len(words) < 2:
        return False
    dropped = sum((len(_VOWELS.findall(w[1:])) <= 1 and len(w) >= 4) or not _VOWELS.search(w[1:]) for w in words)
    return dropped / len(words) >= 0.25
