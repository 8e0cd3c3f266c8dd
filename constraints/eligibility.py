"""Eligibility masks: which referral may take which bed-space, and every reason why not.

Unit rules are evaluated on (referrals × units) and broadcast to bed-spaces through each
bed-space's unit, so the cost grows with units, not bed-spaces; only the few bed-space rules
(free, accessible, cluster gender) touch the full (referrals × bed-spaces) grid. Reasons are
kept as bit sets, one bit per rule, so asking for them costs one integer per pair. Only the
rules in force (`constraints.registry`) are evaluated; a rule out of force keeps its bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from constraints import BEDSPACE_RULES, UNIT_RULES, PairRule, registry
from constraints.tables import Tables, build_tables
from matcher.model import Problem

assert len(UNIT_RULES) <= 32 and len(BEDSPACE_RULES) <= 8


@dataclass(frozen=True)
class Eligibility:
    tables: Tables
    unit_allowed: np.ndarray  # (R, U) every unit rule passes
    allowed: np.ndarray  # (R, B) every rule passes
    unit_failures: np.ndarray | None  # (R, U) uint32, bit i set when UNIT_RULES[i] fails
    bed_failures: np.ndarray | None  # (R, B) uint8, bit j set when BEDSPACE_RULES[j] fails

    def unit_rules_failed(self, referral: int, unit: int) -> list[PairRule]:
        bits = int(self._need(self.unit_failures)[referral, unit])
        return [rule for i, rule in enumerate(UNIT_RULES) if bits >> i & 1]

    def rules_failed(self, referral: int, bed: int) -> list[PairRule]:
        """Every rule that excludes this referral from this bed-space, unit rules first."""
        unit = int(self.tables.beds.unit[bed])
        bits = int(self._need(self.bed_failures)[referral, bed])
        bed_rules = [rule for j, rule in enumerate(BEDSPACE_RULES) if bits >> j & 1]
        return self.unit_rules_failed(referral, unit) + bed_rules

    def reasons(self, referral: int, bed: int) -> list[str]:
        return [rule.reason for rule in self.rules_failed(referral, bed)]

    @staticmethod
    def _need(array: np.ndarray | None) -> np.ndarray:
        if array is None:
            raise ValueError("reasons were not computed: call eligibility(..., reasons=True)")
        return array


def eligibility(source: Problem | Tables, *, reasons: bool = False) -> Eligibility:
    """Evaluate every pair rule over all referrals and bed-spaces."""
    tables = source if isinstance(source, Tables) else build_tables(source)
    # Rules come as masks of their own small shape ((R, 1), (1, W) or (R, W)); each one's
    # bits are made in that shape and folded into the full grid in one pass. Broadcasting
    # each to full size first, then negating, casting and shifting it, cost four grid-sized
    # temporaries per rule: most of the time on a city's portfolio.
    unit_failures = unit_rule_failures(tables)
    unit_allowed = unit_failures == 0
    bed_failures = bed_rule_failures(tables)
    # `take`, not `[:, index]`: that returns a column-major array, and every later row-wise
    # pass over it (this one, the context's per-unit sums) ran ten times slower.
    allowed = np.take(unit_allowed, tables.beds.unit, axis=1)
    allowed &= bed_failures == 0
    if not reasons:
        return Eligibility(tables, unit_allowed, allowed, None, None)
    return Eligibility(tables, unit_allowed, allowed, unit_failures, bed_failures)


def unit_rule_failures(tables: Tables) -> np.ndarray:
    """(R, U) uint32: bit i set where `UNIT_RULES[i]` fails."""
    failures = np.zeros((len(tables.referrals), len(tables.units)), dtype=np.uint32)
    in_force = registry.pair_rules_in_force()
    for i, rule in enumerate(UNIT_RULES):
        if rule in in_force:
            _fold(failures, rule.small_mask(tables), 1 << i)
    return failures


def bed_rule_failures(tables: Tables) -> np.ndarray:
    """(R, B) uint8: bit j set where `BEDSPACE_RULES[j]` fails."""
    failures = np.zeros((len(tables.referrals), len(tables.beds)), dtype=np.uint8)
    in_force = registry.pair_rules_in_force()
    for j, rule in enumerate(BEDSPACE_RULES):
        if rule in in_force:
            _fold(failures, rule.small_mask(tables), 1 << j)
    return failures


def _fold(failures: np.ndarray, passes: np.ndarray, bit: int) -> None:
    """Set `bit` in `failures` wherever `passes` (broadcast to its shape) is False."""
    bits = (~passes).astype(failures.dtype)  # in the mask's own (small) shape
    bits *= failures.dtype.type(bit)
    failures |= bits
