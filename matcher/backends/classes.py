"""A problem read through `constraints/` and reduced to what the allocation model counts.

Pair eligibility comes from `eligibility()`, the multi-person rules from `coupling()`, the
points from `score()`: nothing here decides who may go where. Free bed-spaces that pass the
same rules (one unit, cluster and accessibility) form a class; a referral's candidate places
are (referral, unit) pairs; referrals alike in a unit form a group, and so do the teams that
may serve a pair. `matcher.backends.reduced_model` writes the rules over these as rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from constraints import registry
from constraints.bedspace import bedspace_free_on_date
from constraints.coupled import support_team_required
from constraints.coupling import Coupling, coupling, team_may_serve_mask
from constraints.eligibility import Eligibility, eligibility
from constraints.scores import score
from constraints.staffing import HOURS_TOLERANCE
from constraints.tables import Tables, build_tables
from matcher.backends.narrow import narrow
from matcher.backends.pair_scores import PairScores
from matcher.model import Problem
from matcher.objective import BANDS

GENDER_OTHER, GENDER_MAN, GENDER_WOMAN = 0, 1, 2


@dataclass(frozen=True)
class BedClass:
    unit: int
    cluster: int
    beds: tuple[int, ...]  # bed-space indices, in problem order

    @property
    def size(self) -> int:
        return len(self.beds)


@dataclass(frozen=True)
class UnitGroup:
    """Referrals that, in one unit, may take the same classes and share a gender code."""

    unit: int
    classes: tuple[int, ...]
    gender: int


@dataclass(frozen=True)
class PairIndex:
    """(referral, unit) → pair index, as one sorted key array: a dict of tuples took 300 MiB
    for the 1.66 million pairs of the large instances, this takes 13."""

    keys: np.ndarray  # (P,) sorted unit * stride + referral
    order: np.ndarray  # (P,) the pair of each key
    stride: int

    @classmethod
    def of(cls, pair_ref: np.ndarray, pair_unit: np.ndarray) -> PairIndex:
        stride = int(pair_ref.max()) + 1 if pair_ref.size else 1
        keys = pair_unit.astype(np.int64) * stride + pair_ref.astype(np.int64)
        order = np.argsort(keys, kind="stable")
        return cls(keys[order], order, stride)

    def get(self, key: tuple[int, int]) -> int | None:
        """The pair of (referral, unit), or None if the referral has no place there."""
        r, u = key
        if not 0 <= r < self.stride:
            return None
        wanted = u * self.stride + r
        i = int(np.searchsorted(self.keys, wanted))
        if i < self.keys.size and self.keys[i] == wanted:
            return int(self.order[i])
        return None


@dataclass
class Instance:
    """A problem read through `constraints/` and reduced to classes, pairs and groups."""

    problem: Problem
    tables: Tables
    elig: Eligibility
    coupling: Coupling
    pair_scores: PairScores  # each term's points, on the pairs (`pair_terms`)
    points: np.ndarray  # (R, U) total soft points, int32 where every one fits
    classes: list[BedClass]
    class_allowed: np.ndarray  # (R, C) the referral passes every pair rule for the class
    pair_ref: np.ndarray  # (P,)
    pair_unit: np.ndarray  # (P,)
    pair_points: np.ndarray  # (P,)
    pair_group: np.ndarray  # (P,) index into `groups`
    pair_team_group: np.ndarray  # (P,) index into `team_groups`, -1 where no team is needed
    groups: list[UnitGroup]
    team_groups: list[tuple[int, ...]]  # allowed teams (with room) per team group
    hours: np.ndarray  # (R,) support hours in integer steps of 1 / hours_scale
    hours_room: np.ndarray  # (U,) the same for each unit's room
    hours_scale: int
    gender: np.ndarray  # (R,) GENDER_* codes
    pair_index: PairIndex = field(default_factory=lambda: PairIndex.of(np.zeros(0), np.zeros(0)))
    _reasons: Eligibility | None = None

    def eligibility_with_reasons(self) -> Eligibility:
        """The masks with every failed rule per pair, computed on first use: only unplaced
        referrals need them, and on large instances they cost about 300 MiB while built."""
        if self.elig.unit_failures is not None:
            return self.elig
        if self._reasons is None:
            self._reasons = eligibility(self.tables, reasons=True)
        return self._reasons

    def pair_terms(self, referral: int, unit: int) -> dict[str, int]:
        """Each soft term's points for placing `referral` in `unit`."""
        pair = self.pair_index.get((referral, unit))
        if pair is None:
            # Not a pair of the model: only a placement the checker then refuses.
            return score(self.tables).pair_terms(referral, unit)
        return self.pair_scores.terms(pair, referral, unit)

    @property
    def n_pairs(self) -> int:
        return len(self.pair_ref)

    def pair_group_priority(self) -> np.ndarray:
        """(P,) the highest priority among each pair's referral and its keep-together group."""
        priority = self.tables.referrals.priority.copy()
        for members in self.coupling.keep_together_groups:
            priority[members] = priority[members].max()
        return priority[self.pair_ref]

    def pairs_of_referral(self) -> list[np.ndarray]:
        order = np.argsort(self.pair_ref, kind="stable")
        bounds = np.searchsorted(self.pair_ref[order], np.arange(len(self.tables.referrals) + 1))
        return [order[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]


def _hours_scale(values: np.ndarray) -> int:
    """The smallest of 1, 2, 4, 10, 100, 1000 that makes every value an integer."""
    for scale in (1, 2, 4, 10, 100, 1000):
        scaled = values * scale
        if np.all(np.abs(scaled - np.rint(scaled)) < 1e-9):
            return scale
    return 1000


def distinct_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a (n, m) uint8 array in byte order (as `np.unique(axis=0)` sorts
    them): where each first appears, and each row's index among them. Rows are read as
    big-endian 64-bit words: `np.unique(axis=0)` compares rows as opaque records, and took
    2 s of the 4 s building the 5,000 x 10,000 instance."""
    n, m = keys.shape
    width = max(1, -(-m // 8))
    padded = np.zeros((n, 8 * width), dtype=np.uint8)
    padded[:, :m] = keys
    words = padded.view(">u8")
    order = np.lexsort(words.T[::-1])  # stable: a run of equal rows starts at its first
    sorted_words = words[order]
    starts = np.ones(n, dtype=bool)
    starts[1:] = np.any(sorted_words[1:] != sorted_words[:-1], axis=1)
    rank = np.cumsum(starts) - 1
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = rank
    return order[starts], inverse


def build_instance(problem: Problem) -> Instance:
    """Evaluate the rules once and reduce them to the class-count model's data."""
    tables = build_tables(problem)
    elig = eligibility(tables)
    coupled = coupling(tables)
    scores = score(tables)
    # Read one (referral, unit) at a time; the soft stage reads `pair_points`, int64.
    points = narrow(scores.total())
    n_refs = len(tables.referrals)
    classes = _bed_classes(tables)
    representatives = np.array([c.beds[0] for c in classes], dtype=np.int64)
    class_allowed = (
        elig.allowed[:, representatives] if len(classes) else np.zeros((n_refs, 0), dtype=bool)
    )
    gender = np.full(n_refs, GENDER_OTHER, dtype=np.int64)
    gender[coupled.is_man] = GENDER_MAN
    gender[coupled.is_woman] = GENDER_WOMAN
    pairs = _Pairs()
    pairs.add_units(tables, elig, coupled, classes, class_allowed, gender)
    p_ref, p_unit = _cat(pairs.ref), _cat(pairs.unit)
    scale = _hours_scale(np.concatenate([coupled.support_hours, coupled.support_hours_room]))
    hours = np.ceil(coupled.support_hours * scale - 1e-9).astype(np.int64)
    room = np.floor((coupled.support_hours_room + HOURS_TOLERANCE) * scale + 1e-9)
    hours_room = np.minimum(room, 2**40).astype(np.int64)
    instance = Instance(
        problem=problem,
        tables=tables,
        elig=elig,
        coupling=coupled,
        pair_scores=PairScores.of(scores, p_ref, p_unit),
        points=points,
        classes=classes,
        class_allowed=class_allowed,
        pair_ref=p_ref,
        pair_unit=p_unit,
        pair_points=points[p_ref, p_unit].astype(np.int64),
        pair_group=_cat(pairs.group),
        pair_team_group=_cat(pairs.team_group),
        groups=pairs.groups,
        team_groups=pairs.team_groups,
        hours=hours,
        hours_room=hours_room,
        hours_scale=scale,
        gender=gender,
    )
    instance.pair_index = PairIndex.of(p_ref, p_unit)
    return instance


def _bed_classes(tables: Tables) -> list[BedClass]:
    """Interchangeable free bed-spaces: same unit, cluster and accessibility."""
    beds = tables.beds
    by_key: dict[tuple[int, bool], list[int]] = {}
    open_beds = beds.free if registry.in_force(bedspace_free_on_date) else np.ones_like(beds.free)
    for b in np.flatnonzero(open_beds):
        by_key.setdefault((int(beds.cluster[b]), bool(beds.accessible[b])), []).append(int(b))
    return [
        BedClass(unit=int(beds.unit[members[0]]), cluster=cluster, beds=tuple(members))
        for (cluster, _), members in by_key.items()
    ]


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


@dataclass
class _Pairs:
    """The (referral, unit) pairs as they are found, unit by unit, with their groups."""

    ref: list[np.ndarray] = field(default_factory=list)
    unit: list[np.ndarray] = field(default_factory=list)
    group: list[np.ndarray] = field(default_factory=list)
    team_group: list[np.ndarray] = field(default_factory=list)
    groups: list[UnitGroup] = field(default_factory=list)
    team_groups: list[tuple[int, ...]] = field(default_factory=list)
    team_group_index: dict[tuple[int, ...], int] = field(default_factory=dict)

    def add_units(
        self,
        tables: Tables,
        elig: Eligibility,
        coupled: Coupling,
        classes: list[BedClass],
        class_allowed: np.ndarray,
        gender: np.ndarray,
    ) -> None:
        """Every unit's pairs: referrals that may take one of its classes, grouped by the
        classes they may take and their gender code."""
        # Couples: only units every member may enter are worth a variable.
        together_ok = np.ones((len(tables.referrals), len(tables.units)), dtype=bool)
        for members in coupled.keep_together_groups:
            common = np.asarray(elig.unit_allowed[members].all(axis=0), dtype=bool)
            together_ok[members] = common[None, :]
        classes_of_unit: dict[int, list[int]] = defaultdict(list)
        for k, cls in enumerate(classes):
            classes_of_unit[cls.unit].append(k)
        teams_required = registry.in_force(support_team_required)
        for u in sorted(classes_of_unit):
            ks = np.array(classes_of_unit[u], dtype=np.int64)
            sub = class_allowed[:, ks] & together_ok[:, u : u + 1]
            rows = np.flatnonzero(sub.any(axis=1))
            if rows.size == 0:
                continue
            keys = np.concatenate([np.packbits(sub[rows], axis=1), gender[rows, None]], axis=1)
            first_at, inverse = distinct_rows(keys.astype(np.uint8))
            first_group = len(self.groups)
            for r in rows[first_at]:
                classes_of_r = tuple(int(k) for k in ks[sub[r]])
                self.groups.append(UnitGroup(unit=u, classes=classes_of_r, gender=int(gender[r])))
            self.ref.append(rows)
            self.unit.append(np.full(rows.size, u, dtype=np.int64))
            self.group.append(first_group + inverse)
            team_of_pair = np.full(rows.size, -1, dtype=np.int64)
            if teams_required and tables.units.visiting[u]:
                team_of_pair = self._team_groups_of(tables, coupled, u, rows)
            self.team_group.append(team_of_pair)

    def _team_groups_of(
        self, tables: Tables, coupled: Coupling, u: int, rows: np.ndarray
    ) -> np.ndarray:
        """The team group of each of a visiting unit's pairs (its referrals `rows`): the
        teams with room that may serve it, numbered in order of first appearance."""
        may = team_may_serve_mask(tables, u)[rows] & (coupled.team_room > 0)[None, :]
        first_at, which = distinct_rows(np.packbits(may, axis=1))
        number = np.empty(len(first_at), dtype=np.int64)
        for j in np.argsort(first_at, kind="stable"):
            key = tuple(int(t) for t in np.flatnonzero(may[first_at[j]]))
            if key not in self.team_group_index:
                self.team_group_index[key] = len(self.team_groups)
                self.team_groups.append(key)
            number[j] = self.team_group_index[key]
        return number[which]


Assignment3 = tuple[int, int, int | None]  # (referral, bed-space, team or None)


def lexicographic_value(inst: Instance, placements: list[Assignment3]) -> tuple[int, ...]:
    """(placed in band 5, …, placed in band 1, soft points): compare allocations with `>`."""
    refs, bed_unit = inst.tables.referrals, inst.tables.beds.unit
    counts = dict.fromkeys(BANDS, 0)
    soft = 0
    for r, bed, _ in placements:
        counts[int(refs.priority[r])] += 1
        soft += int(inst.points[r, int(bed_unit[bed])])
    return (*(counts[b] for b in BANDS), soft)
