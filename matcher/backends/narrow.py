"""Integer arrays as int32 where every value fits: a city's model has about 14 million entries
and 2.8 million pairs, and each int64 array over them is 108 or 22 MiB."""

from __future__ import annotations

import numpy as np


def narrow(values: np.ndarray) -> np.ndarray:
    """`values` as int32 where every one fits, int64 otherwise (a checked cast, no copy when
    already so). Sums and products with int64 arrays are int64 again, so keep any arithmetic
    that could leave int32 with an int64 operand."""
    array = np.asarray(values)
    small = np.iinfo(np.int32)
    if array.size and (array.min() < small.min or array.max() > small.max):
        return array.astype(np.int64, copy=False)
    return array.astype(np.int32, copy=False)
