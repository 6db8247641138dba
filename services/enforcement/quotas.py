"""Quotas per town by the largest remainder method (Hamilton's).

    share_t  = total × count_t / Σ count          (exact, as integers)
    quota_t  = ⌊share_t⌋, then one more to each of the
               total − Σ⌊share_t⌋ towns with the largest remainders

| step | how |
| --- | --- |
| floors | `total × count_t // Σ count` — integers, no float ever rounds a share |
| remainders | `total × count_t mod Σ count`, compared as integers (same denominator) |
| ties | larger remainder first, then the larger count, then the town's name (code point order) |
| towns with no enterprise | quota 0 (a share of 0 has no remainder) |
| total ≤ Σ count | no quota exceeds its town's count: share_t ≤ count_t and count_t is whole, so ⌈share_t⌉ ≤ count_t |
| total > Σ count | the shares still add up to `total`; the towns whose quota exceeds their count show a shortfall in the draw's report |

The ties rule is fixed so that anyone recomputing the plan from the counts
gets the same quotas: the larger town wins a tied seat (it has more
enterprises to draw from), and the name only settles towns equal in both.
"""


def largest_remainder(total, counts):
    """{town: quota} summing to `total`, proportional to `counts` {town: n}.
    ValueError on a negative or non-whole figure, or on a positive total with
    no enterprise anywhere to share it over."""
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise ValueError("total: must be a whole number ≥ 0, not %r" % (total,))
    if not isinstance(counts, dict):
        raise ValueError("counts: must be an object {town: number of enterprises}")
    for town, count in counts.items():
        if not isinstance(town, str) or not town:
            raise ValueError("counts: a town must be a non-empty name, not %r" % (town,))
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError("counts.%s: must be a whole number ≥ 0, not %r" % (town, count))
    whole = sum(counts.values())
    if whole == 0:
        if total:
            raise ValueError("total: %d targets cannot be shared over towns with no "
                             "enterprise" % total)
        return {town: 0 for town in counts}
    quotas = {town: total * count // whole for town, count in counts.items()}
    left = total - sum(quotas.values())
    by_remainder = sorted(counts, key=lambda town: (-(total * counts[town] % whole),
                                                    -counts[town], town))
    for town in by_remainder[:left]:
        quotas[town] += 1
    return quotas
