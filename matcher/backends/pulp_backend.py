"""PuLP, the second backend: the same reduced model and stages, solved as a MIP.

HiGHS through `highspy` (PuLP's `HiGHS` class) when it is installed, else the HiGHS binary
(`HiGHS_CMD`), else CBC (`PULP_CBC_CMD`). The model is the very `LinearModel` the CP-SAT
backend reads, so both optimise the same integers and must agree on every stage's optimum.
HiGHS reports a proven MIP bound; CBC through the command line does not, so its unfinished
stages fall back to the trivial bound.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from matcher.backends.base import BackendResult
from matcher.backends.classes import Assignment3, Instance, build_model, decode, encode
from matcher.backends.cpsat import trivial_stage_bounds
from matcher.backends.greedy import greedy_placements
from matcher.backends.relaxation import StageCeilings
from matcher.objective import SOFT, stages


def _solver_class(name: str) -> Any:
    import pulp

    return getattr(pulp, name, None)


def _first_available(preferred: str | None) -> str | None:
    names = [preferred] if preferred else ["HiGHS", "HiGHS_CMD", "PULP_CBC_CMD"]
    for name in names:
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
