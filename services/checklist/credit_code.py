"""The unified social credit code (GB 32100-2015): 18 characters, the last a
check character over the first 17."""

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17):
    total = sum(ALPHABET.index(ch) * weight for ch, weight in zip(first17, WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def problem(code):
    """None if `code` is a valid credit code, else the reason it is not."""
    if not isinstance(code, str) or len(code) != 18:
        return "must be 18 characters"
    code = code.upper()
    bad = sorted({ch for ch in code if ch not in ALPHABET})
    if bad:
        return "contains characters outside the code alphabet: %s" % "".join(bad)
    if check_character(code[:17]) != code[17]:
        return "check character is wrong (expected %s)" % check_character(code[:17])
    return None


def complete(first17):
    """The full code for 17 given characters (for demo data and tests)."""
    return first17 + check_character(first17)
