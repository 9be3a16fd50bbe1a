"""The plain behaviour: the profile's prompts and nothing else."""

from __future__ import annotations

from core.hooks import PassThrough


class PlainBot(PassThrough):
    pass
