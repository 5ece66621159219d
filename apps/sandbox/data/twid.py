"""Taiwan national identification numbers (身分證字號).

Format: one letter (the household registration area) + gender digit (1 male, 2 female) + 7 digits + a check
digit. The letter becomes two digits per the Ministry of the Interior table; the 11 digits are weighted
1,9,8,7,6,5,4,3,2,1,1 and the sum must be divisible by 10.
"""

from __future__ import annotations

import re

LETTER_CODES = {
    "A": 10, "B": 11, "C": 12, "D": 13, "E": 14, "F": 15, "G": 16, "H": 17, "I": 34, "J": 18, "K": 19,
    "L": 20, "M": 21, "N": 22, "O": 35, "P": 23, "Q": 24, "R": 25, "S": 26, "T": 27, "U": 28, "V": 29,
    "W": 32, "X": 30, "Y": 31, "Z": 33,
}  # fmt: skip
WEIGHTS = (1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1)
_FORMAT = re.compile(r"^[A-Z][12]\d{8}$")


def _digits(letter: str, body: str) -> list[int]:
    code = LETTER_CODES[letter]
    return [code // 10, code % 10, *(int(ch) for ch in body)]


def check_digit(prefix: str) -> int:
    """The check digit for the first nine characters (letter + 8 digits)."""
    total = sum(w * d for w, d in zip(WEIGHTS[:10], _digits(prefix[0], prefix[1:]), strict=True))
    return (10 - total % 10) % 10


def is_valid(national_id: str) -> bool:
    if not _FORMAT.match(national_id):
        return False
    digits = _digits(national_id[0], national_id[1:])
    return sum(w * d for w, d in zip(WEIGHTS, digits, strict=True)) % 10 == 0


def make(letter: str, gender_digit: int, seven_digits: str) -> str:
    prefix = f"{letter}{gender_digit}{seven_digits}"
    return prefix + str(check_digit(prefix))
