"""Why units are shut to a referral, in coordinator words, and how many each rule shuts.

Unit rules come as failure bits per (referral, unit); bed-space rules are summarised over a
unit's bed-spaces ("No bed-space here is free"). Units alike in their failures read alike, so
each distinct case is worded once and kept in the context.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from constraints import BEDSPACE_RULES, UNIT_RULES
from matcher.ranking.context import RankingContext
from matcher.ranking.results import ExcludedUnit

NO_BEDSPACES = "Unit has no bed-spaces."


# Which bed-space rules each combination of failure bits holds: (combinations, rules).
_BED_RULES_IN = np.array(
    [
        [combination >> j & 1 for j in range(len(BEDSPACE_RULES))]
        for combination in range(1 << len(BEDSPACE_RULES))
    ],
    dtype=np.int64,
)


def bed_rule_counts(ctx: RankingContext, r: int) -> np.ndarray:
    """Per bed-space rule, how many of each unit's bed-spaces it shuts to referral r:
    (rules, units)."""
    # Count each unit's bed-spaces per combination of failing rules in one pass, then add up
    # the combinations that hold each rule.
    combinations = len(_BED_RULES_IN)
    per_combination = np.bincount(
        ctx.bed_unit_code + ctx.bed_failures[r], minlength=len(ctx.tables.units) * combinations
    ).reshape(-1, combinations)
    return np.ascontiguousarray((per_combination @ _BED_RULES_IN).T)


def _unit_exclusion(
    ctx: RankingContext, unit_bits: int, bed_counts: Sequence[int], n_beds: int
) -> tuple[list[str], list[str]]:
    """(reasons, rule names) for one unit, from its failed-rule bits and bed-rule counts."""
    memo = ctx._excluded_memo
    unit_part = memo.get((unit_bits,))
    if unit_part is None:
        failed = [rule for i, rule in enumerate(UNIT_RULES) if unit_bits >> i & 1]
        unit_part = ([rule.reason for rule in failed], [rule.name for rule in failed])
        memo[(unit_bits,)] = unit_part
    reasons, rules = list(unit_part[0]), list(unit_part[1])
    if n_beds == 0:
        reasons.append(NO_BEDSPACES)
    for j, k in enumerate(bed_counts):
        if k == 0:
            continue
        key = (-1, j, k, n_beds)  # -1 keeps these keys apart from the unit-bit keys
        worded = memo.get(key)
        if worded is None:
            rule = BEDSPACE_RULES[j]
            worded = ([rule.over_bedspaces(k, n_beds)], [rule.name])
            memo[key] = worded
        reasons += worded[0]
        rules += worded[1]
    return reasons, rules


# An exclusion case packed in one integer: failed unit-rule bits in the low 22 bits, then the
# unit's bed-spaces and each bed-space rule's failures in 10 bits each (62 bits in all).
_RULE_BITS, _COUNT_BITS = 22, 10
_FEW_UNITS = 32


def exclusion_cases(
    ctx: RankingContext, unit_bits: np.ndarray, n_beds: np.ndarray, counts: list[np.ndarray]
) -> tuple[list[tuple[tuple[str, ...], tuple[str, ...]]], np.ndarray]:
    """The distinct exclusion cases among these units, worded once each, and which case each
    unit is. A case is (failed unit-rule bits, bed-spaces, failures per bed-space rule)."""
    if unit_bits.size <= _FEW_UNITS:
        # A few units (the ranked units of a summary): looking each up costs less than
        # finding the distinct ones. One case per unit, repeats and all.
        memo = ctx._excluded_memo_whole
        worded = []
        columns = [unit_bits.tolist(), n_beds.tolist(), *(c.tolist() for c in counts)]
        for key in zip(*columns, strict=True):
            case = memo.get(key)
            if case is None:
                case = memo[key] = _worded(ctx, key[0], key[1], key[2:])
            worded.append(case)
        return worded, np.arange(len(worded))

    packable = (
        len(BEDSPACE_RULES) == 3
        and (unit_bits < 1 << _RULE_BITS).all()
        and (n_beds < 1 << _COUNT_BITS).all()
    )
    if not packable:  # more rules or a unit of 1,024 bed-spaces or more: compare rows
        rows = np.stack([unit_bits.astype(np.int64), n_beds, *counts], axis=1)
        found, which = np.unique(rows, axis=0, return_inverse=True)
        keys = [tuple(int(v) for v in row) for row in found.tolist()]
        memo = ctx._excluded_memo_whole
        worded = []
        for key in keys:
            case = memo.get(key)
            if case is None:
                case = memo[key] = _worded(ctx, key[0], key[1], key[2:])
            worded.append(case)
        return worded, which.reshape(-1)

    code = unit_bits.astype(np.int64) | n_beds.astype(np.int64) << _RULE_BITS
    for j, c in enumerate(counts):
        code |= c.astype(np.int64) << (_RULE_BITS + _COUNT_BITS * (j + 1))
    cases, which = np.unique(code, return_inverse=True)
    by_code = ctx._excluded_memo_code
    worded = []
    mask = (1 << _COUNT_BITS) - 1
    for x in cases.tolist():
        case = by_code.get(x)
        if case is None:
            bed_counts = [x >> (_RULE_BITS + _COUNT_BITS * (j + 1)) & mask for j in range(3)]
            bits, beds = x & (1 << _RULE_BITS) - 1, x >> _RULE_BITS & mask
            case = by_code[x] = _worded(ctx, bits, beds, bed_counts)
        worded.append(case)
    return worded, which.reshape(-1)


def _worded(
    ctx: RankingContext, bits: int, n_beds: int, bed_counts: Sequence[int]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    reasons, rules = _unit_exclusion(ctx, bits, bed_counts, n_beds)
    return tuple(reasons), tuple(rules)


def excluded_units(
    ctx: RankingContext,
    r: int,
    shut: np.ndarray,
    group_failures: dict[int, list[tuple[str, str]]],
    bed_counts: np.ndarray,
) -> list[ExcludedUnit]:
    worded, which = exclusion_cases(
        ctx, ctx.unit_failures[r][shut], ctx.bed_count[shut], [c[shut] for c in bed_counts]
    )
    unit_ids, bed_ids = ctx.tables.units.ids, ctx.unit_bed_ids
    # Tuples, shared between results: nothing can change one result through another.
    excluded: list[ExcludedUnit] = [
        {
            "unit": unit_ids[u],
            "bedspaces": bed_ids[u],
            "reasons": worded[k][0],
            "rules": worded[k][1],
        }
        for u, k in zip(shut.tolist(), which.tolist(), strict=True)
    ]
    for entry, u in zip(excluded, shut.tolist(), strict=True) if group_failures else ():
        more = group_failures.get(u)
        if more:
            entry["reasons"] = entry["reasons"] + tuple(reason for _, reason in more)
            entry["rules"] = entry["rules"] + tuple(
                dict.fromkeys(rule for rule, _ in more if rule not in entry["rules"])
            )
    return excluded


def most_first(counted: Counter[str]) -> dict[str, int]:
    """How many units each rule shuts, most first."""
    return dict(sorted(counted.items(), key=lambda item: (-item[1], item[0])))


_UNIT_RULE_NAMES = tuple(rule.name for rule in UNIT_RULES)
# Which bits each byte value has set: (256, 8).
_BYTE_BITS = np.array([[value >> j & 1 for j in range(8)] for value in range(256)], dtype=np.int64)


def bit_counts(bits: np.ndarray, n_bits: int) -> np.ndarray:
    """How many of these unsigned words have each of their lowest `n_bits` bits set."""
    # A histogram of each byte's values, then the bits of each value: a few hundred words
    # hold only a dozen distinct values, so this beats shifting every word per bit.
    little_endian = bits.astype(bits.dtype.newbyteorder("<"), copy=False)
    as_bytes = little_endian.view(np.uint8).reshape(-1, bits.dtype.itemsize)
    per_byte = [
        np.bincount(as_bytes[:, k], minlength=256) @ _BYTE_BITS for k in range((n_bits + 7) // 8)
    ]
    return np.concatenate(per_byte)[:n_bits]


def exclusion_counts(
    ctx: RankingContext,
    r: int,
    shut: np.ndarray,
    group_failures: dict[int, list[tuple[str, str]]],
    bed_counts: np.ndarray,
) -> dict[str, int]:
    """The rules of `excluded_units(...)` counted (`most_first`): each shut unit once under
    each rule that shuts it, counted over the failure bits without wording any unit."""
    bits = ctx.unit_failures[r][shut]
    counted = dict(zip(_UNIT_RULE_NAMES, bit_counts(bits, len(UNIT_RULES)).tolist(), strict=True))
    failing_beds = [int(np.count_nonzero(c[shut])) for c in bed_counts]
    for rule, failing_here in zip(BEDSPACE_RULES, failing_beds, strict=True):
        counted[rule.name] = counted.get(rule.name, 0) + failing_here
    if group_failures:
        is_shut = np.zeros(len(ctx.tables.units), dtype=bool)
        is_shut[shut] = True
        failing = np.fromiter(group_failures, dtype=np.int64, count=len(group_failures))
        failing = failing[is_shut[failing]]
        # The units' own rules, as `excluded_units` words them.
        worded, which = exclusion_cases(
            ctx,
            ctx.unit_failures[r][failing],
            ctx.bed_count[failing],
            [c[failing] for c in bed_counts],
        )
        for u, case in zip(failing.tolist(), which.tolist(), strict=True):
            own = worded[case][1]
            for name in dict.fromkeys(name for name, _ in group_failures[u]):
                if name not in own:
                    counted[name] = counted.get(name, 0) + 1
    # Only the rules that shut some unit.
    return most_first(Counter({name: n for name, n in counted.items() if n > 0}))
