"""The demo's By Name List: about 40 priority and 110 at-risk people (Barnsley's cohort,
002_dcd69be417dc9cc0.txt) with a year of history behind them, deterministic by seed.

Some are residents now (in placement), some wait on a demo referral (active, or returned after
a stay that ended in a home of their own), some moved on to a tenancy (housed), some went
quiet (inactive), some are known only by name. Their past stays are stored as stays are
(referral, placement, resident with a move-out reason and destination), so the returns and
person pages read them too; every list status is reached by the events the status machine
allows, and the stored history replays to it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session

from api.orm import (
    ListHistoryRow,
    ListMemberRow,
    PlacementRow,
    ReferralRow,
    ResidentRow,
)
from api.services.departure_reasons import DepartureReason, Destination
from api.services.list_status import JOINING, Cohort, ListEvent, ListStatus, replay
from api.services.list_status import after as next_status
from matcher.model import Problem, Resident, Unit

SEEDED_BY = "(bedmatch)"
PRIORITY, AT_RISK = 40, 110
QUIET_DAYS = 31
# How many people of each story: residents now, waiting again after a home of their own,
# waiting (some after a stay that broke down), housed, gone quiet, known only by name.
STORIES = {
    "in_placement": 30,
    "returned": 12,
    "active_waiting": 28,
    "housed": 45,
    "inactive": 20,
    "active_unreferred": 15,
}
SETTLED = (Destination.own_tenancy, Destination.social_housing, Destination.private_rented)
UNSETTLED = (Destination.rough_sleeping, Destination.family_friends, Destination.unknown)
BROKE_DOWN = (DepartureReason.eviction, DepartureReason.abandonment, DepartureReason.custody)

Namer = Callable[[str, int], str]

# People no bed-space anywhere can safely take, for the high harm / high vulnerability panel:
# a couple where one poses a risk to children (a household goes only to family units, which
# someone posing a risk to children never does), and someone excluded from every area.
NOWHERE = ("risk_to_children_couple", "risk_to_children_couple", "excluded_everywhere")


@dataclass
class _Person:
    case_reference: str
    name: str
    steps: list[tuple[ListEvent, date]] = field(default_factory=list)
    last_contact: date | None = None


@dataclass
class _Seeder:
    session: Session
    problem: Problem
    rng: random.Random
    name_of: Namer
    people: list[_Person] = field(default_factory=list)
    placements: list[PlacementRow] = field(default_factory=list)  # added once their referrals are
    stays: int = 0
    # When each bed-space was held, (from, until), so past stays never overlap.
    held: dict[str, list[tuple[date, date]]] = field(default_factory=dict)

    @property
    def today(self) -> date:
        return self.problem.as_of

    @property
    def quiet_from(self) -> date:
        """The last day a past stay may end: the month before the demo's date holds no
        move-outs, so a month's figures show what is recorded in the demo, not its past."""
        return self.today - timedelta(days=QUIET_DAYS)

    def day(self, back_from: date, low: int, high: int) -> date:
        return back_from - timedelta(days=self.rng.randint(low, high))

    def past_stay(self, person: _Person, template: Resident | None, gender: str, age: int,
                  placed: date, left: date, settled: bool) -> None:  # fmt: skip
        """A stay that has ended: its referral, placement and resident rows. None where no
        bed-space was free all that time (a small portfolio): the person's story has no stay."""
        found = self._free_bed(gender, age, placed, left)
        if found is None:
            return
        unit, bed = found
        self.stays += 1
        stay_id = f"H{self.stays:05d}"
        self.session.add(
            ReferralRow(
                id=stay_id,
                referred=placed - timedelta(days=self.rng.randint(3, 40)),
                age=age,
                gender=gender,
                risk=template.risk.value if template else self.rng.choice(["low", "medium"]),
                flags=[f.value for f in template.flags] if template else [],
                pathway=unit.pathway.value,
                priority=self.rng.randint(1, 4),
                status="placed",
                name=person.name,
                case_reference=person.case_reference,
            )
        )
        reason = DepartureReason.planned_move_on if settled else self.rng.choice(BROKE_DOWN)
        destination = self.rng.choice(SETTLED if settled else UNSETTLED)
        self.session.add(
            ResidentRow(
                id=stay_id,
                bedspace=bed,
                gender=gender,
                age=age,
                risk=template.risk.value if template else "low",
                flags=[f.value for f in template.flags] if template else [],
                arrived=placed,
                expected_leave=left,
                left_on=left,
                left_reason=reason.value,
                destination=destination.value,
            )
        )
        self.placements.append(
            PlacementRow(
                referral=stay_id,
                bedspace=bed,
                placed_on=placed,
                placed_at=datetime.combine(placed, time(10)),
                placed_by="coordinator",
            )
        )
        person.steps += [(ListEvent.placed, placed)]
        event = ListEvent.moved_out_settled if settled else ListEvent.moved_out_unsettled
        person.steps += [(event, left)]

    def _free_bed(self, gender: str, age: int, placed: date, left: date) -> tuple[Unit, str] | None:
        """A unit that fits the person and a bed-space in it nobody else held from `placed`
        to `left` (one person per bed-space, in the past as now)."""
        fits = [
            u
            for u in self.problem.units
            if u.min_age <= age <= u.max_age
            and u.kind.value not in ("refuge", "family")
            and u.gender_policy.value in ("mixed", f"{gender}_only")
        ]
        self.rng.shuffle(fits)
        for unit in fits + list(self.problem.units):
            for bed in self.problem.bedspaces:
                opens = bed.available_from
                if bed.unit != unit.id or (opens is not None and opens > placed):
                    continue
                held = self.held.setdefault(bed.id, [])
                if all(left <= start or end <= placed for start, end in held):
                    held.append((placed, left))
                    return unit, bed.id
        return None


def seed_list(session: Session, problem: Problem, seed: int, name_of: Namer) -> int:
    """Store the demo's By Name List (the caller commits); how many people it holds."""
    seeder = _Seeder(session, problem, random.Random(seed * 1009 + 27), name_of)
    rng, today = seeder.rng, problem.as_of
    units = {u.id: u for u in problem.units}
    unit_of_bed = {b.id: b.unit for b in problem.bedspaces}
    # Residents staying on, in units with their own staff: a placement the service made into
    # a visiting-support unit would have come with a support team, and the demo's residents
    # have none.
    residents = [
        r
        for r in problem.residents
        if (r.expected_leave is None or r.expected_leave > today)
        and units[unit_of_bed[r.bedspace]].staffing.value != "visiting"
    ]
    waiting = sorted(
        (r for r in problem.referrals if r.case_reference and not r.keep_together),
        key=lambda r: r.id,
    )
    rng.shuffle(residents)
    rng.shuffle(waiting)
    for resident in problem.residents:
        until = resident.expected_leave if resident.expected_leave is not None else date.max
        since = resident.arrived or date.min
        seeder.held.setdefault(resident.bedspace, []).append((since, until))

    # Residents now: a referral for the stay they are in, and the list knows them.
    for index, resident in enumerate(residents[: STORIES["in_placement"]]):
        person = _Person(f"BNL-2025-{2000 + index:04d}", name_of(resident.gender.value, 31 + index))
        arrived = min(resident.arrived or seeder.day(today, 10, 200), today)
        unit = units[unit_of_bed[resident.bedspace]]
        session.add(
            ReferralRow(
                id=resident.id,
                referred=arrived - timedelta(days=rng.randint(3, 40)),
                age=resident.age,
                gender=resident.gender.value,
                risk=resident.risk.value,
                flags=[f.value for f in resident.flags],
                support_hours=resident.support_hours,
                pathway=unit.pathway.value,
                priority=rng.randint(2, 5),
                status="placed",
                name=person.name,
                case_reference=person.case_reference,
            )
        )
        seeder.placements.append(
            PlacementRow(
                referral=resident.id,
                bedspace=resident.bedspace,
                placed_on=arrived,
                placed_at=datetime.combine(arrived, time(10)),
                placed_by="coordinator",
            )
        )
        if arrived < today - timedelta(days=365):
            person.steps.append((ListEvent.joined_in_placement, today - timedelta(days=365)))
        else:
            person.steps.append((ListEvent.joined, arrived - timedelta(days=rng.randint(0, 30))))
            person.steps.append((ListEvent.placed, arrived))
        person.last_contact = seeder.day(today, 0, 14)
        seeder.people.append(person)

    # Waiting again after a home of their own; waiting, some after a stay that broke down.
    returned = waiting[: STORIES["returned"]]
    active = waiting[STORIES["returned"] : STORIES["returned"] + STORIES["active_waiting"]]
    for referral in returned + active:
        assert referral.case_reference is not None and referral.name is not None
        person = _Person(referral.case_reference, referral.name)
        came_back = referral in returned
        if came_back or rng.random() < 0.5:
            left = min(seeder.day(referral.referred, 20, 150), seeder.quiet_from)
            placed = seeder.day(left, 30, 150)
            person.steps.append((ListEvent.joined, seeder.day(placed, 0, 30)))
            seeder.past_stay(
                person, None, referral.gender.value, referral.age, placed, left, settled=came_back
            )
            if came_back:
                person.steps.append((ListEvent.new_referral, referral.referred))
        else:
            person.steps.append((ListEvent.joined, seeder.day(referral.referred, 0, 20)))
        person.last_contact = max(person.steps[-1][1], seeder.day(today, 0, 60))
        seeder.people.append(person)

    # Housed: a stay that ended in a tenancy of their own; some were placed twice.
    for index in range(STORIES["housed"]):
        gender = rng.choice(["man", "man", "woman"])
        age = rng.randint(18, 60)
        person = _Person(f"BNL-2025-{3000 + index:04d}", name_of(gender, 101 + index))
        left = seeder.day(seeder.quiet_from, 0, 220)
        placed = seeder.day(left, 30, 100)
        if rng.random() < 0.3:
            first_left = seeder.day(placed, 10, 40)
            first_placed = seeder.day(first_left, 20, 60)
            person.steps.append((ListEvent.joined, seeder.day(first_placed, 0, 20)))
            seeder.past_stay(person, None, gender, age, first_placed, first_left, settled=False)
        else:
            person.steps.append((ListEvent.joined, seeder.day(placed, 0, 30)))
        seeder.past_stay(person, None, gender, age, placed, left, settled=True)
        person.last_contact = max(left, seeder.day(today, 0, 90))
        seeder.people.append(person)

    # Gone quiet, and known only by name: no referral.
    for index in range(STORIES["inactive"] + STORIES["active_unreferred"]):
        gender = rng.choice(["man", "man", "woman"])
        person = _Person(f"BNL-2026-{4000 + index:04d}", name_of(gender, 201 + index))
        if index < STORIES["inactive"]:
            last = seeder.day(today, 95, 250)
            if rng.random() < 0.3:  # went quiet, came back, then went quiet again
                joined = seeder.day(last, 150, 250)
                quiet = joined + timedelta(days=91 + rng.randint(0, 20))
                person.steps += [
                    (ListEvent.joined, joined),
                    (ListEvent.no_contact, quiet),
                    (ListEvent.contact, quiet + timedelta(days=rng.randint(1, 20))),
                ]
            else:
                person.steps.append((ListEvent.joined, seeder.day(last, 0, 60)))
            person.steps.append((ListEvent.no_contact, last + timedelta(days=90)))
            person.last_contact = last
        else:
            person.steps.append((ListEvent.joined, seeder.day(today, 5, 200)))
            person.last_contact = seeder.day(today, 0, 40)
            nowhere = index - STORIES["inactive"]
            if nowhere < len(NOWHERE):
                session.add(_nowhere_referral(problem, person, nowhere, gender, person.steps[0][1]))
        seeder.people.append(person)

    session.flush()  # the stays' referrals, before the placements that name them
    session.add_all(seeder.placements)
    _store(session, rng, seeder.people)
    return len(seeder.people)


def _nowhere_referral(
    problem: Problem, person: _Person, index: int, gender: str, referred: date
) -> ReferralRow:
    """A withdrawn referral (nowhere could take them) recording the needs that shut them out."""
    case = NOWHERE[index]
    couple = case == "risk_to_children_couple"
    return ReferralRow(
        id=f"W{index + 1:05d}",
        referred=referred,
        age=34 + index,
        gender=gender,
        risk="high",
        flags=["risk_to_children"] if couple else ["arson"],
        household_size=2 if couple else 1,
        pathway="recovery",
        excluded_areas=[] if couple else [a.id for a in problem.areas],
        priority=4,
        status="withdrawn",
        name=person.name,
        case_reference=person.case_reference,
    )


def _store(session: Session, rng: random.Random, people: list[_Person]) -> None:
    """The members and their histories, replayed through the status machine."""
    order = list(range(len(people)))
    rng.shuffle(order)
    # Priority people are mostly the ones the service is working with now.
    weight = {ListStatus.in_placement: 3, ListStatus.returned: 3, ListStatus.active: 2}
    statuses = [replay(e for e, _ in person.steps) for person in people]
    order.sort(key=lambda i: -weight.get(statuses[i], 1) * rng.random())
    priority = set(order[:PRIORITY])
    members = []
    for i, person in enumerate(people):
        person.steps.sort(key=lambda step: step[1])
        joined_on = person.steps[0][1]
        members.append(
            ListMemberRow(
                case_reference=person.case_reference,
                name=person.name,
                cohort=(Cohort.priority if i in priority else Cohort.at_risk).value,
                status=statuses[i].value,
                joined_on=joined_on,
                joined_by="coordinator",
                last_contact_on=max(person.last_contact or joined_on, joined_on),
            )
        )
    session.add_all(members)
    session.flush()  # their ids, for the history
    for person, member in zip(people, members, strict=True):
        before: ListStatus | None = None
        for event, on in person.steps:
            after = JOINING[event] if before is None else next_status(before, event)
            session.add(
                ListHistoryRow(
                    member_id=member.id,
                    event=event.value,
                    from_status=None if before is None else before.value,
                    to_status=after.value,
                    on=on,
                    at=datetime.combine(on, time(12)),
                    by=SEEDED_BY if event is ListEvent.no_contact else "coordinator",
                    note="",
                )
            )
            before = after
        assert before is not None and before.value == member.status
