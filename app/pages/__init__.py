"""Pages of the main window, one module each. A page module defines ``KEY``, ``TITLE`` and
``create(ctx: AppContext) -> QWidget``; adding a page (Live, Train) is adding its name to PAGE_MODULES."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from PySide6.QtWidgets import QWidget

from app.engine import Engine
from app.library import VoiceLibrary
from app.settings import AppSettings

__all__ = ["PAGE_MODULES", "AppContext", "load_pages"]

PAGE_MODULES: tuple[str, ...] = ("convert", "live", "train", "voices")


@dataclass
class AppContext:
    """What every page gets: the engine, the settings, the voice library and an error reporter."""

    engine: Engine
    settings: AppSettings
    library: VoiceLibrary
    show_error: Callable[[str, str, str], None]  # title, message, details


def load_pages(ctx: AppContext, names: tuple[str, ...] = PAGE_MODULES) -> list[tuple[str, str, QWidget]]:
    """(key, title, widget) of every page, in side-bar order."""
    out = []
    for name in names:
        mod: ModuleType = importlib.import_module(f"app.pages.{name}")
        out.append((mod.KEY, mod.TITLE, mod.create(ctx)))
    return out
