"""How amounts of USD are shown: exact, with the precision they need and at least cents."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

# Derived figures (an amortized share of training, say) can have endless decimals;
# they are shown to a thousandth of a nano-dollar. Ledger amounts never need it.
DERIVED_PLACES = Decimal("1e-12")


def usd_digits(amount: Decimal) -> str:
    """``Decimal('35') -> '35.00'``, ``Decimal('0.000465') -> '0.000465'`` (never an exponent)."""
    text = format(amount.normalize(), "f")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def usd(amount: Decimal) -> str:
    """For people: ``$1,050.00``, ``$0.000465``."""
    whole, _, fraction = usd_digits(abs(amount)).partition(".")
    sign = "-" if amount < 0 else ""
    return f"{sign}${int(whole):,}.{fraction}"


def derived(amount: Decimal) -> Decimal:
    return amount.quantize(DERIVED_PLACES, rounding=ROUND_HALF_EVEN).normalize()


def usd_about(amount: Decimal, digits: int = 3) -> str:
    """For people reading a derived figure: ``$0.000650`` for 0.000649714285..., ``$12.35``
    for 12.3456 (``digits`` significant digits, never fewer than cents). Not for the ledger:
    where a total must reconcile, use `usd`."""
    if amount == 0:
        return "$0.00"
    places = max(2, digits - 1 - amount.copy_abs().adjusted())
    return usd(amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN))
