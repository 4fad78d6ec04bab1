"""INSZ (identificatienummer van de sociale zekerheid): validation and vectorised generation.

An INSZ has 11 digits ``YYMMDDSSSCC``: birth date, a serial ``SSS`` (001-998; odd for men,
even for women) and a check number ``CC = 97 - (YYMMDDSSS mod 97)``. For births from 2000
the nine digits are prefixed with ``2`` before the modulo. A BIS number (for persons not in
the national register) has the same layout with the month raised by 40 (sex known) or 20
(sex unknown); month or day ``00`` means unknown.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_digits", "is_valid_insz", "insz_birth_century", "generate_insz"]

_VALID_MONTHS = set(range(0, 13)) | set(range(20, 33)) | set(range(40, 53))


def check_digits(first9: int, born_2000_or_later: bool) -> int:
    """The check number CC for the nine leading digits."""
    base = first9 + 2_000_000_000 if born_2000_or_later else first9
    return 97 - base % 97


def insz_birth_century(s: str) -> int | None:
    """1900 or 2000: the century the check digits of a valid INSZ point to (None if invalid)."""
    if not is_valid_insz(s):
        return None
    first9, cc = int(s[:9]), int(s[9:])
    return 1900 if check_digits(first9, False) == cc else 2000


def is_valid_insz(s: object) -> bool:
    """True when ``s`` is a well-formed INSZ or BIS number with a correct check number.

    Checks: 11 digits; month 00-12 (or +20 / +40 for BIS numbers); day 00-31; serial
    001-998; check number correct under the rule for births before or from 2000.
    """
    if not isinstance(s, str) or len(s) != 11 or not s.isascii() or not s.isdigit():
        return False
    month, day, serial = int(s[2:4]), int(s[4:6]), int(s[6:9])
    if month not in _VALID_MONTHS or day > 31 or not 1 <= serial <= 998:
        return False
    first9, cc = int(s[:9]), int(s[9:])
    return cc in (check_digits(first9, False), check_digits(first9, True))


def generate_insz(
    birth_date: np.ndarray,
    is_male: np.ndarray,
    rng: np.random.Generator,
    bis_share: float = 0.01,
    bis_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Valid, unique INSZ for persons with the given birth dates and sexes (vectorised).

    ``birth_date``: ``datetime64[D]`` array; ``is_male``: bool array. BIS numbers (month + 40,
    sex known) are given to the persons of ``bis_mask``, or to a random ``bis_share`` of them.
    Returns a ``<U11`` array. The serials are drawn at random (odd for men, even for women)
    and redrawn where two persons would share a number, so the result is unique.
    """
    birth_date = np.asarray(birth_date, dtype="datetime64[D]")
    is_male = np.asarray(is_male, dtype=bool)
    n = birth_date.shape[0]
    if bis_mask is None:
        bis_mask = rng.random(n) < bis_share
    years = birth_date.astype("datetime64[Y]").astype(np.int64) + 1970
    months = birth_date.astype("datetime64[M]").astype(np.int64) % 12 + 1
    days = (birth_date - birth_date.astype("datetime64[M]")).astype(np.int64) + 1
    months = months + 40 * bis_mask.astype(np.int64)
    date6 = (years % 100) * 10_000 + months * 100 + days
    _, per_day = np.unique(date6 * 2 + is_male, return_counts=True)
    if per_day.size and per_day.max() > 499:
        raise ValueError("more than 499 persons of one sex share a birth date: no unique INSZ possible")

    serial = np.empty(n, dtype=np.int64)
    todo = np.arange(n)
    while todo.size:
        # odd 001-997 for men, even 002-998 for women
        draw = rng.integers(0, 499, size=todo.size, dtype=np.int64) * 2
        serial[todo] = np.where(is_male[todo], draw + 1, draw + 2)
        first9 = date6 * 1000 + serial
        # keep the first holder of each number (in person order), redraw the others
        _, first_idx = np.unique(first9, return_index=True)
        keep = np.zeros(n, dtype=bool)
        keep[first_idx] = True
        todo = np.flatnonzero(~keep)
    first9 = date6 * 1000 + serial
    base = np.where(years >= 2000, first9 + 2_000_000_000, first9)
    number = first9 * 100 + (97 - base % 97)
    powers = 10 ** np.arange(10, -1, -1, dtype=np.int64)
    digits = (number[:, None] // powers[None, :]) % 10 + ord("0")
    return digits.astype(np.uint8).view("S11").ravel().astype("U11")
