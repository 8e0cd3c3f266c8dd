"""The vacancy board, the women's provision quota and length-of-stay counts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.cli import main
from capacity.length_of_stay import STAY_TARGETS, length_of_stay
from capacity.quotas import women_only_share
from capacity.vacancies import CONFIDENTIAL_NAME, VacancyFilters, vacancies
from constraints.rule import build_places
from matcher.model import GenderPolicy, Pathway, Problem, Resident, Risk, Staffing, UnitKind
from tests.strategies import problems


def _scrambled(problem: Problem, salt: int) -> Problem:
    """The same occupancy with every personal detail of every resident replaced."""
    residents = [
        Resident(
            id=f"secret-person-{salt}-{i}",
            bedspace=r.bedspace,
            gender="man" if r.gender == "woman" else "woman",
            age=99 - (r.age % 50),
            risk=Risk.very_high if r.risk is Risk.low else Risk.low,
            flags=[],
            support_hours=r.support_hours + 7,
            arrived=None,
            expected_leave=r.expected_leave,
        )
        for i, r in enumerate(problem.residents)
    ]
    return problem.model_copy(update={"residents": residents})


@given(problem=problems(), salt=st.integers(0, 9))
def test_board_carries_no_personal_data(problem: Problem, salt: int) -> None:
    scrambled = _scrambled(problem, salt)
    board = vacancies(scrambled, within_days=10).model_dump_json()
    # Changing who the residents are changes nothing on the board...
    assert board == vacancies(problem, within_days=10).model_dump_json()
    # ...and no resident id appears anywhere in it.
    assert "secret-person" not in board


@given(problem=problems())
def test_free_now_agrees_with_the_rules_view_of_a_free_bedspace(problem: Problem) -> None:
    board = vacancies(problem)
    free = sum(place.free for place in build_places(problem))
    assert board.totals.free_now == free
    assert sum(u.free_now for u in board.units) == free
    assert sum(g.free_now for g in board.groups) == free
    assert board.totals.bedspaces == len(problem.bedspaces)


@given(problem=problems(), within=st.integers(0, 40))
def test_freeing_counts_nest(problem: Problem, within: int) -> None:
    board = vacancies(problem, within_days=within)
    for row in [board.totals, *board.units]:
        assert row.freeing_7_days <= row.freeing_28_days
        assert row.free_now + row.freeing_28_days <= row.bedspaces
        if within <= 7:
            assert row.freeing_within_days <= row.freeing_7_days
        if within >= 28:
            assert row.freeing_within_days >= row.freeing_28_days


@given(problem=problems())
def test_freeing_soon_counts_leavers_and_late_availability(problem: Problem) -> None:
    board = vacancies(problem, within_days=10)
    # The strategy's residents leave in 10 days or never; beds open up in 5 days.
    horizon = problem.as_of + timedelta(days=10)
    occupied = {r.bedspace: r for r in problem.residents if problem.resident_is_present(r)}
    expected = 0
    for bed in problem.bedspaces:
        later = bed.available_from is not None and bed.available_from > problem.as_of
        resident = occupied.get(bed.id)
        if resident is None and later:
            expected += 1
        elif resident is not None and resident.expected_leave is not None:
            expected += resident.expected_leave <= horizon
    assert board.totals.freeing_within_days == expected


@given(problem=problems(), data=st.data())
def test_filters_only_let_matching_units_through(problem: Problem, data: st.DataObject) -> None:
    filters = VacancyFilters(
        gender_policy=data.draw(st.sampled_from([None, *GenderPolicy])),
        risk=data.draw(st.sampled_from([None, *Risk])),
        staffing=data.draw(st.sampled_from([None, *Staffing])),
        kind=data.draw(st.sampled_from([None, *UnitKind])),
        age=data.draw(st.sampled_from([None, 16, 20, 40])),
    )
    board = vacancies(problem, filters)
    units = {u.id: u for u in problem.units}
    for row in board.units:
        unit = units[row.unit]
        assert filters.gender_policy in (None, unit.gender_policy)
        assert filters.staffing in (None, unit.staffing)
        assert filters.kind in (None, unit.kind)
        assert filters.risk is None or unit.max_risk.level >= filters.risk.level
        if filters.age is not None:
            assert unit.min_age <= filters.age <= unit.max_age
    everything = vacancies(problem)
    assert len(board.units) <= len(everything.units)
    assert board.totals.free_now <= everything.totals.free_now


def _with_refuge(problem: Problem) -> Problem:
    first = problem.units[0].model_copy(
        update={
            "confidential_address": True,
            "name": "Refuge on Hidden Street",
            "address": "1 Hidden Street",
            "kind": UnitKind.refuge,
        }
    )
    return problem.model_copy(update={"units": [first, *problem.units[1:]]})


@given(problem=problems())
def test_a_refuge_address_stays_hidden_unless_the_role_may_see_it(problem: Problem) -> None:
    problem = _with_refuge(problem)
    refuge = problem.units[0]
    hidden = vacancies(problem)
    row = next(u for u in hidden.units if u.unit == refuge.id)
    assert (row.name, row.area, row.address) == (CONFIDENTIAL_NAME, None, None)
    text = hidden.model_dump_json()
    assert "Hidden Street" not in text
    # Filtering by the refuge's area must not reveal that it is there.
    by_area = vacancies(problem, VacancyFilters(area=refuge.area))
    assert refuge.id not in {u.unit for u in by_area.units}
    # Groups never name the area of a hidden unit either.
    hidden_beds = sum(u.bedspaces for u in hidden.units if u.area is None)
    assert sum(g.bedspaces for g in hidden.groups if g.area is None) == hidden_beds
    stays = length_of_stay(problem)
    assert "Hidden Street" not in stays.model_dump_json()

    shown = vacancies(problem, show_confidential=True)
    row = next(u for u in shown.units if u.unit == refuge.id)
    assert (row.area, row.address) == (refuge.area, "1 Hidden Street")


@given(problem=problems())
def test_women_safe_share_counts_women_only_or_self_contained_beds(problem: Problem) -> None:
    share = women_only_share(problem)
    units = {u.id: u for u in problem.units}
    safe = [
        b
        for b in problem.bedspaces
        if units[b.unit].gender_policy is GenderPolicy.women_only or units[b.unit].self_contained
    ]
    assert share.women_safe_bedspaces == len(safe)
    assert share.women_safe_share == pytest.approx(len(safe) / len(problem.bedspaces))
    assert share.bedspaces_meet_target == (len(safe) / len(problem.bedspaces) >= 0.30)
    assert 0 <= share.support_offer_share <= 1

    # Turning every unit women-only makes every bed-space count.
    all_women = problem.model_copy(
        update={
            "units": [
                u.model_copy(update={"gender_policy": GenderPolicy.women_only})
                for u in problem.units
            ]
        }
    )
    assert women_only_share(all_women).women_safe_share == 1.0


@pytest.mark.parametrize(
    ("pathway", "days", "breach"),
    [
        (Pathway.emergency, 91, False),
        (Pathway.emergency, 92, True),
        (Pathway.recovery, 200, False),
        (Pathway.recovery, 300, True),
        (Pathway.housing_first, 3000, False),
    ],
)
def test_stays_past_the_pathway_target_are_counted(
    pathway: Pathway, days: int, breach: bool
) -> None:
    from fixtures.generator import generate

    problem = generate(3, 0, 40)
    unit = problem.units[0].model_copy(update={"pathway": pathway})
    bed = next(b for b in problem.bedspaces if b.unit == unit.id)
    others = [r for r in problem.residents if r.bedspace != bed.id]
    resident = Resident(
        id="P-long",
        bedspace=bed.id,
        gender="woman",
        age=30,
        arrived=problem.as_of - timedelta(days=days),
    )
    problem = problem.model_copy(
        update={"units": [unit, *problem.units[1:]], "residents": [*others, resident]}
    )
    report = length_of_stay(problem)
    row = next(u for u in report.units if u.unit == unit.id)
    expected_breaches = sum(
        1
        for r in others
        if r.bedspace in {b.id for b in problem.bedspaces if b.unit == unit.id}
        and problem.resident_is_present(r)
        and r.arrived is not None
        and STAY_TARGETS[pathway].max_days is not None
        and (problem.as_of - r.arrived).days > STAY_TARGETS[pathway].max_days  # type: ignore[operator]
    )
    assert row.past_target == expected_breaches + breach
    assert report.totals.past_target == sum(u.past_target for u in report.units)
    assert "P-long" not in report.model_dump_json()


def test_vacancies_command_writes_the_board(tmp_path, capsys) -> None:
    from fixtures.generator import generate

    path = tmp_path / "problem.json"
    path.write_text(generate(5, 10, 120).model_dump_json())
    assert main(["vacancies", str(path), "--within", "14", "--kind", "adult_mixed"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["vacancies"]["within_days"] == 14
    assert {u["kind"] for u in out["vacancies"]["units"]} <= {"adult_mixed"}
    assert "women_only_share" in out and "length_of_stay" in out


def test_vacancies_command_rejects_a_negative_window(tmp_path, capsys) -> None:
    from fixtures.generator import generate

    path = tmp_path / "problem.json"
    path.write_text(generate(5, 0, 20).model_dump_json())
    assert main(["vacancies", str(path), "--within", "-1"]) == 2
    assert "--within" in capsys.readouterr().err
