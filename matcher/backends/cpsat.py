"""CP-SAT (OR-Tools), the main backend: the reduced model solved stage by stage.

The model of `matcher.backends.classes` is written straight into the CpModel proto (one
integer variable per model variable, one linear constraint per row), then each stage of
`matcher.objective` is maximised with the earlier ones held at their proven values. Each stage
starts from the best solution so far as a hint (the first from greedy), and a stage whose hint
already meets its trivial bound is closed without a solve.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from matcher.backends.base import BackendResult
from matcher.backends.classes import Assignment3, Instance, ModelLayout, build_model, decode, encode
from matcher.backends.greedy import greedy_placements
from matcher.backends.relaxation import StageCeilings
from matcher.objective import SOFT, stages

INT_MAX = 2**62


def trivial_stage_bounds(inst: Instance) -> dict[str, int]:
    """Bounds that need no solve: placeable referrals per band, best unit per referral."""
    from matcher.objective import BANDS, band_stage

    refs = inst.tables.referrals
    placeable = np.zeros(len(refs), dtype=bool)
    placeable[inst.pair_ref] = True
    best = np.zeros(len(refs), dtype=np.int64)
    if inst.n_pairs:
        np.maximum.at(best, inst.pair_ref, inst.pair_points)
    free_beds = sum(cls.size for cls in inst.classes)
    out = {
        band_stage(b): int(min(free_beds, (placeable & (refs.priority == b)).sum())) for b in BANDS
    }
    out[SOFT] = int(best[placeable].sum())
    return out


class _StopAt:
    """Stop the search once a solution reaches a known bound."""

    def __new__(cls, target: int) -> Any:
        from ortools.sat.python import cp_model

        class Callback(cp_model.CpSolverSolutionCallback):
            def on_solution_callback(self) -> None:
                if self.objective_value >= target - 1e-6:
                    self.stop_search()

        return Callback()


class CpSatBackend:
    """OR-Tools CP-SAT with `num_workers` search workers (see benchmarks for the choice)."""

    name = "cpsat"

    def __init__(
        self,
        num_workers: int = 8,
        soft_gap: float = 0.0,
        log: bool = False,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        self.num_workers = num_workers
        self.soft_gap = soft_gap
        self.log = log
        self.parameters = parameters or {}  # any further CP-SAT parameter, by name

    def available(self) -> bool:
        try:
            from ortools.sat.python import cp_model  # noqa: F401
        except ImportError:
            return False
        return True

    def solve(
        self,
        instance: Instance,
        time_limit_s: float,
        hint: list[Assignment3] | None = None,
    ) -> BackendResult:
        from ortools.sat.python import cp_model

        deadline = time.perf_counter() + time_limit_s
        layout = build_model(instance)
        model = cp_model.CpModel()
        proto = model.proto
        lin = layout.model
        # Pair variables start closed ([0, 0]); each stage opens those it needs.
        for i, (lo, hi) in enumerate(zip(lin.lower, lin.upper, strict=True)):
            proto.variables.add().domain.extend([lo, 0 if i < layout.n_pairs else hi])
        for row in lin.rows:
            ct = proto.constraints.add().linear
            ct.vars.extend(row.idx.tolist())
            ct.coeffs.extend(row.coef.tolist())
            ct.domain.extend(
                [-INT_MAX if row.lo is None else row.lo, INT_MAX if row.hi is None else row.hi]
            )

        if hint is None:
            hint = greedy_placements(instance)
        best = encode(instance, layout, hint)
        trivial = trivial_stage_bounds(instance)
        ceilings = StageCeilings(instance, trivial)
        pair_priority = instance.tables.referrals.priority[instance.pair_ref]
        bounds: dict[str, int] = {}
        timed_out = False
        stage_log: list[dict[str, object]] = []
        all_vars = list(range(lin.n_vars))
        open_pairs = np.zeros(layout.n_pairs, dtype=bool)
        group_priority = instance.pair_group_priority()
        for stage in stages(pair_priority, instance.pair_points, group_priority):
            coefs = stage.coefficients
            nz = np.flatnonzero(coefs)
            value = int(coefs[nz] @ best[nz])
            ceiling = ceilings.of(stage.name)
            if stage.name != SOFT and value >= ceiling:
                bounds[stage.name] = value  # the hint already meets a proven ceiling
                ceilings.hold(stage.name, value)
                self._hold(proto, nz, coefs[nz], value)
                stage_log.append({"stage": stage.name, "value": value, "skipped": True})
                continue
            for p in np.flatnonzero(stage.active & ~open_pairs):
                proto.variables[int(p)].domain[1] = 1
            open_pairs |= stage.active
            stage_hint = _restrict(instance, layout, best, open_pairs)
            remaining = deadline - time.perf_counter()
            if remaining <= 0.05:
                timed_out = True
                break
            proto.clear_objective()
            proto.objective.vars.extend(nz.tolist())
            proto.objective.coeffs.extend((-coefs[nz]).tolist())
            proto.objective.scaling_factor = -1.0
            proto.clear_solution_hint()
            proto.solution_hint.vars.extend(all_vars)
            proto.solution_hint.values.extend(stage_hint.tolist())
            solver = cp_model.CpSolver()
            solver.parameters.max_time_in_seconds = remaining
            solver.parameters.num_workers = self.num_workers
            solver.parameters.log_search_progress = self.log
            for key, setting in self.parameters.items():
                setattr(solver.parameters, key, setting)
            if stage.name == SOFT and self.soft_gap > 0:
                solver.parameters.relative_gap_limit = self.soft_gap
            started = time.perf_counter()
            # A band stage that reaches its ceiling is done: no further proof needed.
            target = ceiling if stage.name != SOFT else None
            status = solver.solve(model, _StopAt(target) if target is not None else None)
            entry: dict[str, object] = {
                "stage": stage.name,
                "status": solver.status_name(status),
                "seconds": round(time.perf_counter() - started, 3),
            }
            stage_log.append(entry)
            if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                values = np.asarray(solver.response_proto.solution, dtype=np.int64)
                found = int(coefs[nz] @ values[nz])
                if found > value:  # on a tie the earlier solution is better for later stages
                    # Referrals the stage left out are added back greedily for the next hint.
                    completed = greedy_placements(instance, start=decode(instance, layout, values))
                    best, value = encode(instance, layout, completed), found
                bound = int(np.floor(solver.best_objective_bound + 1e-6))
                bounds[stage.name] = max(min(bound, ceiling), value)
                entry.update(value=value, bound=bounds[stage.name])
                if status == cp_model.OPTIMAL or (
                    stage.name == SOFT
                    and self.soft_gap > 0
                    and value >= bound * (1 - self.soft_gap)
                ):
                    if stage.name != SOFT:
                        ceilings.hold(stage.name, value)
                        self._hold(proto, nz, coefs[nz], value)
                    if status == cp_model.OPTIMAL:
                        bounds[stage.name] = value
                    continue
                if target is not None and value >= target:
                    bounds[stage.name] = value
                    ceilings.hold(stage.name, value)
                    self._hold(proto, nz, coefs[nz], value)
                    continue
                timed_out = True
                break
            # No solution in time (or an unexpected status): keep the best so far.
            timed_out = True
            break
        return BackendResult(
            placements=decode(instance, layout, best),
            stage_bounds=bounds,
            timed_out=timed_out,
            detail={"stages": stage_log, "num_workers": self.num_workers, **_size(layout)},
        )

    @staticmethod
    def _hold(proto: object, idx: np.ndarray, coefs: np.ndarray, value: int) -> None:
        """Later stages keep this stage at its optimum."""
        ct = proto.constraints.add().linear  # type: ignore[attr-defined]
        ct.vars.extend(idx.tolist())
        ct.coeffs.extend(coefs.tolist())
        ct.domain.extend([value, INT_MAX])


def _restrict(
    inst: Instance, layout: ModelLayout, values: np.ndarray, open_pairs: np.ndarray
) -> np.ndarray:
    """The solution `values` without the placements a stage leaves out (a valid hint)."""
    chosen = values[: layout.n_pairs] > 0.5
    keep = np.flatnonzero(chosen & open_pairs)
    if keep.size == int(chosen.sum()):
        return values
    placements = decode(inst, layout, values)
    allowed_refs = {int(inst.pair_ref[p]) for p in keep}
    return encode(inst, layout, [a for a in placements if a[0] in allowed_refs])


def _size(layout: ModelLayout) -> dict[str, object]:
    return {
        "variables": layout.model.n_vars,
        "pair_variables": layout.n_pairs,
        "rows": len(layout.model.rows),
    }
