"""Figures a commissioner can trust: intervals that never leave what is possible, and waits
that count the people still waiting.

- A mean over replications has a Student t interval (scipy), clipped to the figure's possible
  range: a count or a wait is never negative, a share never above one. The truth lies inside
  that range, so clipping never lowers the interval's coverage.
- A wait is a time to an event (a placement) that not everyone reaches within the horizon:
  people still waiting at the end, or who withdrew, are right-censored, not dropped. Its
  median and 90th percentile come from the Kaplan-Meier estimate (scipy.stats.ecdf), and are
  None ("not reached") where fewer than half, or 90%, are placed within the horizon.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict
from scipy import stats

CONFIDENCE = 0.95


class Estimate(BaseModel):
    """A mean over replications with its 95% confidence interval (None where no value)."""

    model_config = ConfigDict(frozen=True)

    mean: float | None
    low: float | None
    high: float | None
    n: int


def estimate(values: Iterable[float | None], low: float = 0.0, high: float = math.inf) -> Estimate:
    """The mean of the values present, with a t interval kept inside [`low`, `high`]."""
    present = [float(v) for v in values if v is not None and not math.isnan(v)]
    if not present:
        return Estimate(mean=None, low=None, high=None, n=0)
    n = len(present)
    mean = sum(present) / n
    if n == 1:
        return Estimate(mean=mean, low=None, high=None, n=1)
    spread = math.sqrt(sum((v - mean) ** 2 for v in present) / (n - 1))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df=n - 1)) * spread / math.sqrt(n)
    return Estimate(mean=mean, low=max(low, mean - half), high=min(high, mean + half), n=n)


def relative_half_width(figure: Estimate) -> float | None:
    """Half the interval's width over the mean: how precisely the replications pin it down
    (None where there is no interval, 0 where every replication agreed)."""
    if figure.mean is None or figure.low is None or figure.high is None:
        return None
    if figure.high == figure.low:
        return 0.0
    if figure.mean == 0:
        return math.inf
    return (figure.high - figure.low) / 2 / abs(figure.mean)


def wait_quantiles(
    waited: Sequence[float], placed: Sequence[bool], quantiles: Sequence[float] = (0.5, 0.9)
) -> list[float | None]:
    """The Kaplan-Meier quantiles of the time to placement: `waited[i]` is how long person i
    waited until placed (`placed[i]`) or until they were last seen waiting (censored)."""
    if not waited:
        return [None for _ in quantiles]
    uncensored = [w for w, p in zip(waited, placed, strict=True) if p]
    if not uncensored:
        return [None for _ in quantiles]
    censored = [w for w, p in zip(waited, placed, strict=True) if not p]
    cdf = stats.ecdf(stats.CensoredData(uncensored=uncensored, right=censored)).cdf
    times, reached = cdf.quantiles, cdf.probabilities
    answer: list[float | None] = []
    for q in quantiles:
        # The first time by which at least the share q has been placed; none if never.
        hit = next((float(t) for t, p in zip(times, reached, strict=True) if p >= q - 1e-12), None)
        answer.append(hit)
    return answer


# The normal quantile of the two-sided 95% interval, computed once.
_Z = float(stats.norm.ppf(0.5 + CONFIDENCE / 2))


def share_interval(k: int, n: int) -> tuple[float, float] | None:
    """The Wilson score 95% interval of the share `k` of `n` (None when n is 0). Unlike the
    normal approximation it stays within [0, 1] and keeps its coverage at small counts, such
    as 0 of 4 or 4 of 4, where a unit's or a cohort's figures often are."""
    if n <= 0:
        return None
    if not 0 <= k <= n:
        raise ValueError(f"a share of {k} out of {n}")
    p = k / n
    z2 = _Z * _Z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = _Z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # At 0 of n and n of n the bounds are 0 and 1 exactly; rounding must not lose them.
    low = 0.0 if k == 0 else max(0.0, min(p, centre - half))
    high = 1.0 if k == n else min(1.0, max(p, centre + half))
    return low, high
