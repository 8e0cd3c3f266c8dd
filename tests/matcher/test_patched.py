"""Patched arrays read exactly as the dense arrays they stand for, however they were patched,
and patching never changes the array it was made from."""

from __future__ import annotations

from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher import patched
from matcher.patched import PatchedColumns, PatchedRows

ROWS, COLS = 7, 9


@st.composite
def patches(draw: st.DrawFn) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for _ in range(draw(st.integers(1, 8))):
        cols = draw(st.lists(st.integers(0, COLS - 1), min_size=1, max_size=4, unique=True))
        values = draw(
            st.lists(st.integers(0, 250), min_size=ROWS * len(cols), max_size=ROWS * len(cols))
        )
        out.append((np.array(cols), np.array(values, dtype=np.int64).reshape(ROWS, len(cols))))
    return out


def _reads_alike(array: PatchedColumns, dense: np.ndarray) -> None:
    assert np.array_equal(np.asarray(array), dense)
    for r in range(ROWS):
        assert np.array_equal(array[r], dense[r])
        assert np.array_equal(array[r, [0, 3, COLS - 1]], dense[r, [0, 3, COLS - 1]])
        assert np.array_equal(array[r, 2:5], dense[r, 2:5])
        for c in range(COLS):
            assert array[r, c] == dense[r, c]
    cols = np.array([COLS - 1, 0, 4])
    assert np.array_equal(array.columns(cols), dense[:, cols])
    rows = np.array([ROWS - 1, 1])
    assert np.array_equal(array.rows(rows), dense[rows])
    assert np.array_equal(array.pick(rows, np.array([3, 3])), dense[rows, [3, 3]])
    assert np.array_equal(array[:, 1], dense[:, 1])


@settings(max_examples=60, deadline=None)
@given(steps=patches(), small=st.booleans())
def test_patched_columns_read_as_the_dense_array(
    steps: list[tuple[np.ndarray, np.ndarray]], small: bool
) -> None:
    base = np.arange(ROWS * COLS, dtype=np.int64).reshape(ROWS, COLS)
    floor = 1 if small else patched.MOST_PATCHED_FLOOR
    with mock.patch.object(patched, "MOST_PATCHED_FLOOR", floor):
        array, dense = PatchedColumns(base.copy()), base.copy()
        for cols, values in steps:
            before, before_dense = array, dense.copy()
            array = array.with_columns(cols, values)
            dense[:, cols] = values
            _reads_alike(array, dense)
            _reads_alike(before, before_dense)  # copy on write


@settings(max_examples=60, deadline=None)
@given(steps=patches(), small=st.booleans())
def test_patched_rows_read_as_the_dense_array(
    steps: list[tuple[np.ndarray, np.ndarray]], small: bool
) -> None:
    base = np.arange(ROWS * COLS, dtype=np.int64).reshape(ROWS, COLS).T.copy()  # (COLS, ROWS)
    floor = 1 if small else patched.MOST_PATCHED_FLOOR
    with mock.patch.object(patched, "MOST_PATCHED_FLOOR", floor):
        array, dense = PatchedRows(base.copy()), base.copy()
        for rows, values in steps:
            before, before_dense = array, dense.copy()
            array = array.with_rows(rows, values.T)
            dense[rows] = values.T
            for a, d in ((array, dense), (before, before_dense)):
                assert np.array_equal(np.asarray(a), d)
                for i in range(COLS):
                    assert np.array_equal(a[i], d[i])
                    assert np.array_equal(a[i, [0, 2]], d[i, [0, 2]])
                picked = np.array([COLS - 1, 0, 3])
                assert np.array_equal(a[picked, 2], d[picked, 2])
                assert np.array_equal(a[picked[:, None], [1, 4]], d[picked[:, None], [1, 4]])
                assert np.array_equal(a[:, 1], d[:, 1])
