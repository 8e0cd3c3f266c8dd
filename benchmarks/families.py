"""Named, seeded instance families: the same name always means the same problems.

Every instance is `fixtures.generator.generate(seed, referrals, beds, stress=...)` with the
seed and sizes fixed here, so a run on another machine benchmarks the very same bytes. A
family also carries the defaults a run of it uses (repeats, solver time limit) and the size
the eligibility-mask benchmark runs at, so `bedmatch bench --family F` needs no more flags.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from fixtures.generator import generate
from matcher.model import Problem

STRESS_VARIANTS = ("women_heavy", "high_risk", "tight_caseloads", "couples")


@dataclass(frozen=True)
class InstanceSpec:
    """One benchmark instance: a generator call with a name."""

    name: str
    family: str
    seed: int
    referrals: int
    beds: int
    stress: str | None = None
    varied: bool = False  # the portfolio's shape and the mix of people drawn from the seed
    slack: bool = False  # no rule coupling people can bind: the optimum is a matching

    def build(self) -> Problem:
        return generate(
            self.seed,
            self.referrals,
            self.beds,
            stress=self.stress,
            varied=self.varied,
            slack_rules=self.slack,
        )

    @property
    def size(self) -> str:
        return f"{self.referrals}x{self.beds}"


@dataclass(frozen=True)
class MaskSize:
    """Where the eligibility-mask benchmark runs for a family, and its issue-3 targets."""

    referrals: int
    beds: int
    seed: int
    baseline_sample: int  # referrals timed with the plain per-pair loops, then extrapolated


@dataclass(frozen=True)
class Family:
    name: str
    description: str
    instances: tuple[InstanceSpec, ...]
    repeat: int  # solves per instance and backend (the median is reported)
    time_limit_s: float  # per solve
    mask: MaskSize | None
    # The contributed rank/simulation/service scripts: "none"; "quick", at this family's
    # size; or "full", at each script's own default size, which is its issue's target.
    scripts: str = "none"


def _tiny() -> tuple[InstanceSpec, ...]:
    # Brute-force sized (at most 7 referrals x 8 bed-spaces), so exact optima can be checked.
    sizes = ((4, 5), (5, 6), (6, 8), (7, 8), (7, 7), (6, 6))
    return tuple(
        InstanceSpec(f"tiny-{seed}", "tiny", seed, referrals, beds)
        for seed, (referrals, beds) in enumerate(sizes, start=1)
    )


def _sized(family: str, seed: int, referrals: int, beds: int) -> tuple[InstanceSpec, ...]:
    return (InstanceSpec(family, family, seed, referrals, beds),)


def _stressed(base: str, seed: int, referrals: int, beds: int) -> tuple[InstanceSpec, ...]:
    family = f"{base}_stress"
    return tuple(
        InstanceSpec(f"{base}-{stress}", family, seed, referrals, beds, stress)
        for stress in STRESS_VARIANTS
    )


def _varied(
    family: str, first_seed: int, count: int, referrals: int, beds: int, *, slack: bool = False
) -> tuple[InstanceSpec, ...]:
    """`count` instances of one size, each of a shape drawn from its seed
    (`fixtures.structure.varied_structure`): a distribution, not one council."""
    return tuple(
        InstanceSpec(f"{family}-{seed}", family, seed, referrals, beds, varied=True, slack=slack)
        for seed in range(first_seed, first_seed + count)
    )


TINY = _tiny()
SMALL = _sized("small", 101, 100, 200)
SMALL_STRESS = _stressed("small", 101, 100, 200)
MEDIUM = _sized("medium", 1501, 1_500, 3_000)
MEDIUM_STRESS = _stressed("medium", 1501, 1_500, 3_000)
LARGE = _sized("large", 5001, 5_000, 10_000)
VARIED_SMALL = _varied("varied_small", 2001, 20, 100, 200)
VARIED_MEDIUM = _varied("varied_medium", 3001, 20, 1_500, 3_000)
VARIED_LARGE = _varied("varied_large", 4001, 5, 5_000, 10_000)
SLACK_MEDIUM = _varied("slack_medium", 5001, 5, 1_500, 3_000, slack=True)
SLACK_LARGE = _varied("slack_large", 6001, 3, 5_000, 10_000, slack=True)

# Issue 3's target size: 5,000 referrals x 10,000 bed-spaces in <= 2 s and <= 1 GiB.
MASK_LARGE = MaskSize(5_000, 10_000, 5001, baseline_sample=8)
MASK_TARGET_SECONDS = 2.0
MASK_TARGET_BYTES = 1 << 30

FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family("tiny", "brute-force sized instances", TINY, 3, 10.0, MaskSize(7, 8, 1, 7)),
        Family("small", "about 100 x 200", SMALL, 3, 30.0, MaskSize(100, 200, 101, 20), "quick"),
        Family("small_stress", "small, each stress variant", SMALL_STRESS, 3, 30.0, None),
        Family(
            "medium", "1,500 x 3,000", MEDIUM, 3, 60.0, MaskSize(1_500, 3_000, 1501, 10), "full"
        ),
        Family("medium_stress", "medium, each stress variant", MEDIUM_STRESS, 1, 60.0, None),
        Family("large", "5,000 x 10,000", LARGE, 3, 120.0, MASK_LARGE, "full"),
        Family("mask", "the eligibility mask at 5,000 x 10,000 only", (), 0, 0.0, MASK_LARGE),
        Family("varied_small", "20 shapes at 100 x 200", VARIED_SMALL, 1, 30.0, None),
        Family("varied_medium", "20 shapes at 1,500 x 3,000", VARIED_MEDIUM, 1, 60.0, None),
        Family("varied_large", "5 shapes at 5,000 x 10,000", VARIED_LARGE, 1, 60.0, None),
        Family(
            "slack_medium", "5 shapes at 1,500 x 3,000, rules slack", SLACK_MEDIUM, 1, 60.0, None
        ),
        Family(
            "slack_large", "3 shapes at 5,000 x 10,000, rules slack", SLACK_LARGE, 1, 60.0, None
        ),
        # CI: every check that can fail, on instances that solve in seconds.
        Family("smoke", "tiny + small (CI)", TINY + SMALL, 1, 20.0, MaskSize(100, 200, 101, 20)),
        Family(
            "all",
            "every family",
            TINY + SMALL + SMALL_STRESS + MEDIUM + MEDIUM_STRESS + LARGE,
            3,
            120.0,
            MASK_LARGE,
            "full",
        ),
    )
}


def family(name: str) -> Family:
    """The family of that name, or a ValueError listing the known ones."""
    try:
        return FAMILIES[name]
    except KeyError:
        known = ", ".join(FAMILIES)
        raise ValueError(f"unknown family {name!r}; known: {known}") from None


def add_family_arguments(parser: argparse.ArgumentParser, default: str = "varied_medium") -> None:
    """The options of a stand-alone script over some instances of one family: `--family`,
    `--seeds` and `-o`."""
    parser.add_argument("--family", default=default)
    parser.add_argument("--seeds", default="", help="comma-separated; all of the family if empty")
    parser.add_argument("-o", "--output", default="bench-out")


def chosen_seeds(seeds: str) -> set[int] | None:
    """The seeds of `--seeds` (None: every instance of the family)."""
    return {int(s) for s in seeds.split(",") if s} or None
