"""PuLP, the second backend: the same reduced model and stages, solved as a MIP.

With HiGHS, each stage starts as CP-SAT's does (`GuidedHighsStages`): its LP relaxation gives
a proven ceiling and guides a small piece (`matcher.backends.guided_band`), which HiGHS solves;
a piece that meets the ceiling proves the stage. Otherwise the stage's whole integer program
goes to HiGHS, warm-started from the piece. HiGHS runs in one worker process a solve
(`matcher.backends.highs_worker.HighsProcess`, `solver="highspy"`), answering the solve's
integer programs in turn and stopped at a program's deadline. Where highspy does not load,
each stage is one integer program for CBC (`COIN_CMD` on the bundled program), then for HiGHS
through PuLP in this process (PuLP's `HiGHS`) or its binary (`HiGHS_CMD`), which nothing stops
should HiGHS miss its limit. The model is the very `LinearModel` the CP-SAT backend reads, so
both optimise the same integers and must agree on every stage's optimum; the stages are walked
by the loop every exact backend shares (`matcher.backends.stage_loop`), each over its active
pairs (`matcher.backends.submodel`). HiGHS reports a proven MIP bound; CBC through the command
line does not, so its unfinished stages keep the stage's proven ceiling as their bound.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from matcher.backends import cbc_command, floors, highs_banner, highs_worker
from matcher.backends.base import BackendResult
from matcher.backends.classes import Assignment3, Instance
from matcher.backends.greedy import greedy_placements
from matcher.backends.guided_band import lp_guided_band
from matcher.backends.highs_worker import HighsProcess
from matcher.backends.reduced_model import build_model, encode
from matcher.backends.settings import DEFAULT_SETTINGS, SolverSettings
from matcher.backends.stage_loop import new_run, run_stages, stage_result
from matcher.backends.stage_run import StageAt, StageRun
from matcher.backends.stage_strategy import Maximiser, MaximiserStages, StageStart
from matcher.backends.submodel import UNBOUNDED, SparseModel
from matcher.objective import SOFT

CBC = "COIN_CMD"  # the CBC program of `matcher.backends.cbc_command`, run by PuLP's COIN_CMD


def _solver(name: str, **options: Any) -> Any:
    """PuLP's solver `name` with `options`, or None where PuLP has no such solver."""
    import pulp

    if name == CBC:
        # COIN_CMD is PuLP's supported class for CBC; PULP_CBC_CMD, the same program under
        # PuLP's own path, is deprecated.
        executable = cbc_command.program()
        return None if executable is None else pulp.COIN_CMD(path=executable, **options)
    if name not in ("HiGHS", "HiGHS_CMD"):
        return None
    return getattr(pulp, name)(**options)


HIGHSPY = "highspy"  # HiGHS through its own array interface, no PuLP objects


def _first_available(preferred: str | None) -> str | None:
    # HiGHS in its worker first: it is stopped at the stage's deadline, where HiGHS in this
    # process can run minutes past its limit (`matcher.backends.highs_worker`). Then CBC, then
    # HiGHS through PuLP, which nothing can stop.
    names = [preferred] if preferred else [HIGHSPY, CBC, "HiGHS", "HiGHS_CMD"]
    for name in names:
        if name == HIGHSPY:
            if highs_worker.available():
                return name
            continue
        solver = _solver(name, msg=False)
        if solver is not None and solver.available():
            return name
    return None


class PulpBackend:
    """A MIP through PuLP: HiGHS (highspy), the HiGHS binary, or CBC, whichever runs here."""

    name = "pulp"

    def __init__(
        self,
        solver: str | None = None,
        soft_gap: float = 0.0,
        settings: SolverSettings = DEFAULT_SETTINGS,
    ) -> None:
        self.solver = solver
        self.soft_gap = soft_gap
        self.settings = settings

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
        deadline = time.perf_counter() + time_limit_s
        solver_name = _first_available(self.solver)
        if solver_name is None:
            return BackendResult([], no_solution=True)
        if solver_name != HIGHSPY:
            maximise = _pulp_maximiser(solver_name)
            return self._solve(instance, time_limit_s, hint, maximise, solver_name, deadline)
        # One HiGHS process answers the solve's integer programs in turn.
        highs = HighsProcess()
        try:
            return self._solve(instance, time_limit_s, hint, highs.maximise, solver_name, deadline)
        finally:
            highs.close()

    def _solve(
        self,
        instance: Instance,
        time_limit_s: float,
        hint: list[Assignment3] | None,
        maximise: Maximiser,
        solver_name: str,
        deadline: float,
    ) -> BackendResult:
        """The stages walked with each integer program solved by `maximise`."""
        if floors.has_floors(instance):
            return floors.staged_solve(instance, time_limit_s, hint, maximise, self.soft_gap)
        began = time.perf_counter()
        layout = build_model(instance)
        best = encode(instance, layout, hint if hint is not None else greedy_placements(instance))
        run = new_run(instance, layout, layout.sparse(), best, began)
        # Each stage's model goes to `maximise` as the CSR arrays of
        # `matcher.backends.submodel`, fixed variables folded out as for CP-SAT.
        strategy = (
            GuidedHighsStages(self.settings, maximise)
            if solver_name == HIGHSPY and self.settings.lp_guide
            else MaximiserStages(maximise)
        )
        run_stages(run, strategy, deadline, self.soft_gap)
        return stage_result(run, {"solver": solver_name, "variables": run.full.n_vars})


class GuidedHighsStages(MaximiserStages):
    """Each stage LP-guided first, as CP-SAT's are (`matcher.backends.guided_band`: the LP
    optimum rounded down is a proven ceiling, tightened unit by unit where the piece falls
    short of it), the guided pieces and then the stage's whole integer program solved by
    HiGHS, the latter warm-started from the piece's allocation."""

    def __init__(self, settings: SolverSettings, maximise: Maximiser) -> None:
        super().__init__(maximise)
        self.settings = settings

    def start(
        self, run: StageRun, deadline: float, start: StageStart, entry: dict[str, object]
    ) -> StageStart:
        stage = run.stages[run.index]
        soft = stage.name == SOFT
        if start.value >= start.ceiling:
            return start
        run.best, value, lp_bound = lp_guided_band(
            self.settings,
            StageAt(run.inst, run.layout, run.full, stage),
            run.best,
            start.value,
            start.ceiling,
            deadline,
            entry,
            share=self.settings.soft_lp_share if soft else self.settings.lp_guide_share,
            maximise=self.maximise,
        )
        ceiling = start.ceiling
        if lp_bound is not None and lp_bound < ceiling:
            ceiling = max(lp_bound, value)
        return StageStart(value, ceiling, soft_ceiling_proven=soft)


def _pulp_maximiser(solver_name: str) -> Maximiser:
    """One integer program through PuLP and the named solver (CBC or a HiGHS PuLP knows)."""

    def maximise(
        model: SparseModel,
        objective: np.ndarray,
        start: np.ndarray,
        time_limit_s: float,
        gap: float,
    ) -> tuple[np.ndarray | None, int, bool]:
        import pulp

        building = time.perf_counter()
        # Minimising the negated objective: PuLP runs CBC with ``-max`` for a maximisation,
        # and CBC then costs the warm start with the wrong sign (`matcher.backends.cbc_command`).
        problem = pulp.LpProblem("allocation", pulp.LpMinimize)
        xs = [
            problem.add_variable(f"v{i}", lowBound=int(lo), upBound=int(hi), cat=pulp.LpInteger)
            for i, (lo, hi) in enumerate(zip(model.lower, model.upper, strict=True))
        ]
        for x, value in zip(xs, start.tolist(), strict=True):
            x.setInitialValue(value)
        problem += pulp.LpAffineExpression(
            [(xs[i], -int(objective[i])) for i in np.flatnonzero(objective)]
        )
        cols, coefs, starts = model.col.tolist(), model.coef.tolist(), model.start.tolist()
        for k, (lo, hi) in enumerate(zip(model.lo.tolist(), model.hi.tolist(), strict=True)):
            span = range(starts[k], starts[k + 1])
            expr = pulp.LpAffineExpression([(xs[cols[j]], coefs[j]) for j in span])
            if lo == hi:
                problem.addConstraint(expr == lo, f"e{k}")
                continue
            if lo > -UNBOUNDED:
                problem.addConstraint(expr >= lo, f"l{k}")
            if hi < UNBOUNDED:
                problem.addConstraint(expr <= hi, f"u{k}")
        # Writing the model out and reading the answer back take about as long as building
        # it did, outside the solver's own clock: keep that time inside the limit.
        overhead = 3 * (time.perf_counter() - building) + 1.0
        solver = _solver(
            solver_name,
            msg=False,
            timeLimit=max(time_limit_s - overhead, 0.1),
            gapRel=gap,
            warmStart=True,
        )
        if solver_name == "HiGHS":
            highs_banner.discard()
        try:
            problem.solve(solver)
        except pulp.PulpSolverError:
            # CBC ends without a solution file when stopped at its limit in preprocessing.
            return None, UNBOUNDED, False
        if problem.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
            return None, UNBOUNDED, False
        values = np.array([round(x.varValue or 0) for x in xs], dtype=np.int64)
        proven = problem.sol_status == pulp.LpSolutionOptimal and gap == 0
        found = int(objective @ values)
        # CBC through its command line reports no bound: the stage keeps its ceiling.
        bound = found if proven else _pulp_highs_bound(problem)
        return values, bound, proven

    return maximise


def _pulp_highs_bound(problem: Any) -> int:
    """The proven MIP bound of PuLP's in-process HiGHS (the model minimises the negated
    objective, so the maximum's bound is its dual bound negated); UNBOUNDED for solvers that
    report none."""
    model = getattr(problem, "solverModel", None)
    try:
        dual = model.getInfo().mip_dual_bound  # type: ignore[union-attr]
    except AttributeError:
        return UNBOUNDED
    return int(np.floor(-dual + 1e-6)) if np.isfinite(dual) else UNBOUNDED
