"""The installed PySide6 keeps Python's reference counts right for bool signal arguments (6.12.0 does not: every
Signal(bool) emission into a Python slot drops a reference to True, and a long session aborts in bool_dealloc)."""

from __future__ import annotations

import gc
import sys

import pytest
from PySide6.QtCore import QObject, Signal

pytestmark = pytest.mark.gui


class _Emitter(QObject):
    flag = Signal(bool)


def test_bool_signal_keeps_the_refcount_of_true() -> None:
    o = _Emitter()
    got: list[bool] = []
    o.flag.connect(lambda v: got.append(v))
    gc.collect()
    before = sys.getrefcount(True)
    for _ in range(500):
        o.flag.emit(True)
    got.clear()
    gc.collect()
    assert sys.getrefcount(True) - before > -50, "this PySide6 release leaks references to True (use another)"
