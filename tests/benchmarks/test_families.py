"""Benchmark families are named, seeded and reproducible: the same name gives the same bytes."""

from __future__ import annotations

import pytest

from benchmarks.families import FAMILIES, STRESS_VARIANTS, TINY, family


def test_same_spec_builds_the_same_instance_bytes() -> None:
    for spec in (*TINY[:2], FAMILIES["small_stress"].instances[0]):
        first = spec.build().model_dump_json()
        again = spec.build().model_dump_json()
        assert first == again, spec.name


def test_different_tiny_seeds_give_different_instances() -> None:
    texts = {spec.build().model_dump_json() for spec in TINY}
    assert len(texts) == len(TINY)


def test_tiny_instances_are_brute_force_sized_and_match_their_spec() -> None:
    for spec in TINY:
        problem = spec.build()
        assert len(problem.referrals) == spec.referrals <= 7
        assert len(problem.bedspaces) == spec.beds <= 8


def test_family_sizes_are_the_issue_sizes() -> None:
    sizes = {name: {(s.referrals, s.beds) for s in f.instances} for name, f in FAMILIES.items()}
    assert sizes["small"] == {(100, 200)}
    assert sizes["medium"] == {(1_500, 3_000)}
    assert sizes["large"] == {(5_000, 10_000)}
    mask = FAMILIES["mask"].mask
    assert mask is not None and (mask.referrals, mask.beds) == (5_000, 10_000)


def test_stressed_families_cover_every_variant_at_their_base_size() -> None:
    for name, base in (("small_stress", "small"), ("medium_stress", "medium")):
        stressed = FAMILIES[name].instances
        assert {spec.stress for spec in stressed} == set(STRESS_VARIANTS)
        (plain,) = FAMILIES[base].instances
        assert {(s.seed, s.referrals, s.beds) for s in stressed} == {
            (plain.seed, plain.referrals, plain.beds)
        }


def test_smoke_is_tiny_plus_small_and_names_are_unique() -> None:
    assert FAMILIES["smoke"].instances == FAMILIES["tiny"].instances + FAMILIES["small"].instances
    everything = FAMILIES["all"].instances
    assert len({spec.name for spec in everything}) == len(everything)


def test_unknown_family_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known: tiny"):
        family("huge")


def test_varied_families_are_distributions_of_the_issue_sizes() -> None:
    expected = {
        "varied_small": (20, (100, 200)),
        "varied_medium": (20, (1_500, 3_000)),
        "varied_large": (5, (5_000, 10_000)),
    }
    for name, (count, size) in expected.items():
        specs = FAMILIES[name].instances
        assert len(specs) == count and len({s.seed for s in specs}) == count
        assert {(s.referrals, s.beds) for s in specs} == {size}
        assert all(s.varied and not s.slack for s in specs)
    assert all(s.slack for s in FAMILIES["slack_large"].instances)
    assert {(s.referrals, s.beds) for s in FAMILIES["slack_large"].instances} == {(5_000, 10_000)}


def test_a_varied_spec_builds_the_same_bytes_and_its_seeds_differ_in_shape() -> None:
    specs = FAMILIES["varied_small"].instances
    assert specs[0].build().model_dump_json() == specs[0].build().model_dump_json()
    shapes = set()
    for spec in specs:
        problem = spec.build()
        units = len(problem.units)
        occupied = round(len(problem.residents) / len(problem.bedspaces), 1)
        women = round(sum(r.gender == "woman" for r in problem.referrals) / 100, 1)
        shapes.add((units, occupied, women))
    # Unit sizes, occupancy and the share of women vary from seed to seed.
    assert len({shape[0] for shape in shapes}) >= 5
    assert len({shape[1] for shape in shapes}) >= 3
    assert len({shape[2] for shape in shapes}) >= 3
