"""PuLP, the second backend: the same reduced model and stages, solved as a MIP.

HiGHS through `highspy` (PuLP's `HiGHS` class) when it loads, else the HiGHS binary
(`HiGHS_CMD`), else CBC (`PULP_CBC_CMD`), else HiGHS in a worker process
(`matcher.backends.highs_worker`, `solver="highspy"`): OR-Tools carries its own HiGHS, so
with OR-Tools loaded highspy cannot load in the same process and PuLP's `HiGHS` is
unavailable. The model is the very `LinearModel` the CP-SAT backend reads, so both optimise
the same integers and must agree on every stage's optimum.
HiGHS reports a proven MIP bound; CBC through the command line does not, so its unfinished
stages fall back to the trivial bound.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from matcher.backends import highs_worker
from matcher.backends.base import BackendResult
from matcher.backends.classes import Assignment3, Instance, Row, build_model, decode, encode
from matcher.backends.cpsat import stage_hint, trivial_stage_bounds
from matcher.backends.greedy import greedy_placements
from matcher.backends.relaxation import StageCeilings
from matcher.backends.submodel import SparseModel, restrict
from matcher.objective import SOFT, stages


def _solver_class(name: str) -> Any:
    import pulp

    return getattr(pulp, name, None)


HIGHSPY = "highspy"  # HiGHS through its own array interface, no PuLP objects


def _first_available(preferred: str | None) -> str | None:
    # CBC before the highspy worker: on medium (generate(1, 1500, 3000)) CBC proved band 3
    # (250) in 13.6 s and band 2 (282) in 26.6 s; HiGHS in its worker had not closed band 3
    # after 48 s (and took 55 s alone, unhinted). In-process HiGHS comes first where it loads.
    names = [preferred] if preferred else ["HiGHS", "HiGHS_CMD", "PULP_CBC_CMD", HIGHSPY]
    for name in names:
        if name == HIGHSPY:
            if highs_worker.available():
                return name
            continue
        cls = _solver_class(name)
        if cls is not None and cls(msg=False).available():
            return name
    return None


class PulpBackend:
    """A MIP through PuLP: HiGHS (highspy), the HiGHS binary, or CBC, whichever runs here."""

    name = "pulp"

    def __init__(self, solver: str | None = None, soft_gap: float = 0.0) -> None:
        self.solver = solver
        self.soft_gap = soft_gap

    def available(self) -> bool:
        try:
            return _first_available(self.solver) is not None
        except ImportError:
            return False

    def solve(
        self,
        instance: Instance,
        time_limit_s: float,
        hint: list[Assignment3] | None = None,
    ) -> BackendResult:
        import pulp

        deadline = time.perf_counter() + time_limit_s
        solver_name = _first_available(self.solver)
        if solver_name is None:
            return BackendResult([], no_solution=True)
        if solver_name == HIGHSPY:
            return self._solve_highs(instance, deadline, hint)
        layout = build_model(instance)
        lin = layout.model
        xs = [
            pulp.LpVariable(f"v{i}", lowBound=lo, upBound=hi, cat=pulp.LpInteger)
            for i, (lo, hi) in enumerate(zip(lin.lower, lin.upper, strict=True))
        ]
        rows = []
        for row in lin.rows:
            expr = pulp.LpAffineExpression(
                [(xs[i], int(c)) for i, c in zip(row.idx, row.coef, strict=True)]
            )
            if row.lo is not None and row.lo == row.hi:
                rows.append(expr == row.lo)
                continue
            if row.lo is not None:
                rows.append(expr >= row.lo)
            if row.hi is not None:
                rows.append(expr <= row.hi)

        if hint is None:
            hint = greedy_placements(instance)
        best = encode(instance, layout, hint)
        ceilings = StageCeilings(instance, trivial_stage_bounds(instance))
        pair_priority = instance.tables.referrals.priority[instance.pair_ref]
        held: list[Any] = []
        bounds: dict[str, int] = {}
        timed_out = False
        stage_log: list[dict[str, object]] = []
        for stage in stages(pair_priority, instance.pair_points, instance.pair_group_priority()):
            coefs = stage.coefficients
            nz = np.flatnonzero(coefs)
            objective = pulp.LpAffineExpression([(xs[i], int(coefs[i])) for i in nz])
            value = int(coefs[nz] @ best[nz])
            ceiling = ceilings.of(stage.name)
            if stage.name != SOFT and value >= ceiling:
                bounds[stage.name] = value  # the hint already meets a proven ceiling
                ceilings.hold(stage.name, value)
                held.append(objective >= value)
                stage_log.append({"stage": stage.name, "value": value, "skipped": True})
                continue
            remaining = deadline - time.perf_counter()
            if remaining <= 0.05:
                timed_out = True
                break
            # Referrals below the stage's band cannot raise its count: leave them out.
            for p in range(layout.n_pairs):
                xs[p].upBound = 1 if stage.active[p] else 0
            problem = pulp.LpProblem("allocation", pulp.LpMaximize)
            problem += objective
            for k, constraint in enumerate([*rows, *held]):
                problem.addConstraint(constraint, f"c{k}")
            options: dict[str, Any] = {"msg": False, "timeLimit": max(remaining, 0.1)}
            # HiGHS stops at a 0.01% gap by default; stages are exact unless a soft gap is asked.
            options["gapRel"] = self.soft_gap if stage.name == SOFT else 0.0
            solver = _solver_class(solver_name)(**options)
            started = time.perf_counter()
            problem.solve(solver)
            entry: dict[str, object] = {
                "stage": stage.name,
                "status": pulp.LpStatus[problem.status],
                "seconds": round(time.perf_counter() - started, 3),
            }
            stage_log.append(entry)
            if problem.sol_status not in (
                pulp.LpSolutionOptimal,
                pulp.LpSolutionIntegerFeasible,
            ):
                timed_out = True
                break
            values = np.array([round(x.varValue or 0) for x in xs], dtype=np.int64)
            found = int(coefs[nz] @ values[nz])
            if found > value:  # on a tie the earlier solution is better for later stages
                completed = greedy_placements(instance, start=decode(instance, layout, values))
                best, value = encode(instance, layout, completed), found
            proven = problem.sol_status == pulp.LpSolutionOptimal
            bound = value if proven else self._bound(problem, value)
            if bound is not None:
                bounds[stage.name] = max(min(bound, ceiling), value)
            entry.update(value=value, bound=bound)
            gap_ok = (
                stage.name == SOFT
                and self.soft_gap > 0
                and bound is not None
                and value >= bound * (1 - self.soft_gap)
            )
            if proven or gap_ok or (stage.name != SOFT and value >= ceiling):
                if stage.name != SOFT:
                    bounds[stage.name] = value
                    ceilings.hold(stage.name, value)
                    held.append(objective >= value)
                continue
            timed_out = True
            break
        return BackendResult(
            placements=decode(instance, layout, best),
            stage_bounds=bounds,
            timed_out=timed_out,
            detail={"stages": stage_log, "solver": solver_name, "variables": lin.n_vars},
        )

    def _solve_highs(
        self, instance: Instance, deadline: float, hint: list[Assignment3] | None
    ) -> BackendResult:
        """HiGHS through highspy's array interface: each stage's model goes in as the CSR
        arrays of `matcher.backends.submodel`, fixed variables folded out as for CP-SAT."""
        layout = build_model(instance)
        full = SparseModel.of(layout.model)
        n_pairs = layout.n_pairs
        best = encode(instance, layout, hint if hint is not None else greedy_placements(instance))
        ceilings = StageCeilings(instance, trivial_stage_bounds(instance))
        pair_priority = instance.tables.referrals.priority[instance.pair_ref]
        bounds: dict[str, int] = {}
        timed_out = False
        stage_log: list[dict[str, object]] = []
        for stage in stages(pair_priority, instance.pair_points, instance.pair_group_priority()):
            coefs = stage.coefficients
            nz = np.flatnonzero(coefs)
            value = int(coefs[nz] @ best[nz])
            ceiling = ceilings.of(stage.name)
            entry: dict[str, object] = {"stage": stage.name}
            stage_log.append(entry)
            if stage.name != SOFT and value >= ceiling:
                entry.update(value=value, skipped=True)  # the start meets a proven ceiling
                bounds[stage.name] = value
                ceilings.hold(stage.name, value)
                full = full.with_rows([Row(nz, coefs[nz], value, None)])
                continue
            remaining = deadline - time.perf_counter()
            if remaining <= 0.05:
                timed_out = True
                break
            free = np.ones(full.n_vars, dtype=bool)
            free[:n_pairs] = stage.active
            sub = restrict(full, free, np.zeros(full.n_vars, dtype=np.int64))
            start = stage_hint(instance, layout, best, stage.active)[sub.free]
            gap = self.soft_gap if stage.name == SOFT else 0.0
            started = time.perf_counter()
            found_values, bound, proven = _highs_maximise(
                sub.model, _objective(coefs, sub.free), start, remaining, gap
            )
            entry.update(seconds=round(time.perf_counter() - started, 3), proven=proven)
            if found_values is None:
                timed_out = True
                break
            values = sub.expand(found_values)
            found = int(coefs[nz] @ values[nz])
            if found > value:  # on a tie the earlier solution is better for later stages
                completed = greedy_placements(instance, start=decode(instance, layout, values))
                best, value = encode(instance, layout, completed), found
            bounds[stage.name] = max(min(bound, ceiling), value)
            entry.update(value=value, bound=bounds[stage.name])
            gap_ok = gap > 0 and value >= bounds[stage.name] * (1 - gap)
            if not (proven or gap_ok or (stage.name != SOFT and value >= ceiling)):
                timed_out = True
                break
            if stage.name != SOFT or proven:
                bounds[stage.name] = value
            if stage.name != SOFT:
                ceilings.hold(stage.name, value)
                full = full.with_rows([Row(nz, coefs[nz], value, None)])
        return BackendResult(
            placements=decode(instance, layout, best),
            stage_bounds=bounds,
            timed_out=timed_out,
            detail={"stages": stage_log, "solver": "HiGHS (highspy)", "variables": full.n_vars},
        )

    @staticmethod
    def _bound(problem: Any, value: int) -> int | None:
        """HiGHS's proven MIP bound (it minimises the negated objective)."""
        model = getattr(problem, "solverModel", None)
        if model is None:
            return None
        try:
            dual = model.getInfo().mip_dual_bound
        except AttributeError:
            return None
        if not np.isfinite(dual):
            return None
        return int(np.floor(-dual + 1e-6))


def _objective(coefs: np.ndarray, free: np.ndarray) -> np.ndarray:
    """A stage's pair coefficients over a sub-model's variables (auxiliaries weigh nothing)."""
    out = np.zeros(len(free), dtype=np.int64)
    pairs = free < len(coefs)
    out[pairs] = coefs[free[pairs]]
    return out


def _highs_maximise(
    model: SparseModel, objective: np.ndarray, start: np.ndarray, time_limit_s: float, gap: float
) -> tuple[np.ndarray | None, int, bool]:
    """(values or None, proven bound, proven optimal) of one integer program in HiGHS."""
    arrays = {name: getattr(model, name) for name in ("lower", "upper", "start", "col", "coef")}
    arrays.update(lo=model.lo, hi=model.hi)
    answer = highs_worker.maximise(arrays, objective, start, time_limit_s, gap)
    return answer.values, answer.bound, answer.optimal and gap == 0
