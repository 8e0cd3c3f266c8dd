"""Why a referral was left unplaced, in words a coordinator can act on.

Three kinds of answer, most useful first:
- no bed-space passes the hard rules: units are counted by the rule that excludes them
  (from `eligibility(..., reasons=True)`), so "31 units: unit is men-only" says what to change;
- eligible bed-spaces exist but are taken: by whom (higher-priority referrals, or others);
- a free eligible bed-space exists but a rule about several people blocks it (team caseloads
  full, the unit's high-risk room used, a partner who could not be placed, ...), counted by rule;
and, when the time limit stopped the search before this referral's band was proven, says so.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from constraints import BEDSPACE_RULES
from constraints.coupled import keep_together_same_unit_or_neither as keep_together
from constraints.registry import coupled_rule_named
from matcher.backends import greedy as g
from matcher.backends.classes import Assignment3, Instance
from matcher.backends.greedy import PlacementState

TIME_LIMIT = "time limit reached before this referral could be placed"
TAKEN_BY_HIGHER = "eligible bed-spaces all went to higher-priority referrals"


def _lower_first(text: str) -> str:
    text = text.rstrip(".")
    return text[:1].lower() + text[1:]


def unplaced_reasons(
    inst: Instance,
    placements: list[Assignment3],
    unproven_bands: set[int],
) -> dict[int, list[str]]:
    """Reasons for every referral not in `placements`, keyed by referral index."""
    refs = inst.tables.referrals
    placed = {r for r, _, _ in placements}
    state = PlacementState(inst)
    state.load(placements)
    occupant_priority: dict[int, list[int]] = defaultdict(list)
    for r, bed, _ in placements:
        occupant_priority[state.class_of_bed[bed]].append(int(refs.priority[r]))
    pairs_of = inst.pairs_of_referral()
    group_of = {m: grp for grp in inst.coupling.keep_together_groups for m in grp}
    beds_of_unit: dict[int, list[int]] = defaultdict(list)
    for b, u in enumerate(inst.tables.beds.unit.tolist()):
        beds_of_unit[u].append(b)

    out: dict[int, list[str]] = {}
    for r in range(len(refs)):
        if r in placed:
            continue
        reasons: list[str] = []
        if int(refs.priority[r]) in unproven_bands:
            reasons.append(TIME_LIMIT)
        if not inst.class_allowed[r].any():
            reasons.append(_hard_rule_summary(inst, r, beds_of_unit))
            out[r] = reasons
            continue
        if not pairs_of[r].size:
            partners = [refs.ids[m] for m in group_of.get(r, []) if m != r]
            reasons.append(keep_together.say("no_common_place", partners=", ".join(partners)))
            out[r] = reasons
            continue
        blocked: Counter[str] = Counter()
        full_classes: set[int] = set()
        open_place = False
        for pair in pairs_of[r]:
            for k in inst.groups[int(inst.pair_group[pair])].classes:
                why = state.blockers(r, int(pair), k)
                if not why:
                    open_place = True
                elif why == [g.FULL]:
                    full_classes.add(k)
                else:
                    blocked.update(set(why) - {g.FULL})
        if full_classes:
            reasons.append(_taken_summary(refs.priority[r], full_classes, occupant_priority))
        for code, count in blocked.most_common():
            reasons.append(f"{coupled_rule_named(code).reason} ({count} eligible place(s))")
        if open_place and r in group_of:
            partners = [refs.ids[m] for m in group_of[r] if m != r]
            reasons.append(keep_together.say("not_all_placed", partners=", ".join(partners)))
        elif open_place and TIME_LIMIT not in reasons:
            reasons.append(TIME_LIMIT)
        out[r] = reasons
    return out


def _taken_summary(priority: int, classes: set[int], occupants: dict[int, list[int]]) -> str:
    taken = [p for k in classes for p in occupants.get(k, [])]
    higher = sum(1 for p in taken if p > priority)
    if taken and higher == len(taken):
        return TAKEN_BY_HIGHER
    same = sum(1 for p in taken if p == priority)
    lower = len(taken) - higher - same
    parts = [f"{higher} to higher-priority referrals"] if higher else []
    if same:
        parts.append(f"{same} to referrals of the same priority who waited longer or fit better")
    if lower:
        parts.append(f"{lower} to lower-priority referrals whose other options the rules ruled out")
    return "eligible bed-spaces all went to other referrals: " + ", ".join(parts)


def _hard_rule_summary(inst: Instance, r: int, beds_of_unit: dict[int, list[int]]) -> str:
    """'no bed-space passes the hard rules: 31 units: unit is men-only; ...'."""
    elig, tables = inst.eligibility_with_reasons(), inst.tables
    counts: Counter[str] = Counter()
    n_units = len(tables.units)
    for u in range(n_units):
        failed = elig.unit_rules_failed(r, u)
        if failed:
            counts.update(_lower_first(rule.reason) for rule in failed)
            continue
        if not beds_of_unit[u]:
            counts["no bed-spaces"] += 1
            continue
        bits = np.bitwise_or.reduce(elig._need(elig.bed_failures)[r, beds_of_unit[u]])
        counts.update(
            _lower_first(rule.reason) for j, rule in enumerate(BEDSPACE_RULES) if int(bits) >> j & 1
        )
    if n_units == 0:
        return "no bed-space passes the hard rules: there are no units"
    detail = "; ".join(
        f"{n} unit{'s' if n != 1 else ''} ({text})" for text, n in counts.most_common()
    )
    return f"no bed-space passes the hard rules ({n_units} units checked): {detail}"
