"""The models' change events, on psygnal: declared on the class with their arguments
(``changed = Signal()``, ``rated = Signal(object)``), connected by views, emitted by the
model in the model's thread.

A view that raises while handling an event must not break the live session nor the views
connected after it: the model would otherwise see an exception from ``emit`` in the middle
of applying a headset's message. So every callback runs on its own guard. A failure is
logged with its traceback (logger ``vrclinic.views``) and handed to the listeners of
:data:`view_failures` (the console's window shows it in its status bar), never kept in a
list that only tests read.

Threads: ``emit`` runs the callbacks in the emitting thread, in connection order;
:data:`view_failures` listeners are called in that same thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psygnal

log = logging.getLogger("vrclinic.views")


@dataclass(frozen=True)
class ViewFailure:
    signal: str  # "SessionModel.rated"
    callback: str  # "SessionPanel._on_rated"
    error: str  # "ValueError: ..."

    def text(self) -> str:
        return f"{self.callback} failed on {self.signal}: {self.error}"


class ViewFailures:
    """How many view callbacks failed, and who wants to hear of it. Bounded: a count and the
    last failure, however often a broken view fails."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Callable[[ViewFailure], Any]] = []
        self.count = 0
        self.last: ViewFailure | None = None

    def listen(self, listener: Callable[[ViewFailure], Any]) -> Callable[[], None]:
        """Call ``listener(failure)`` on every failure; returns a function that stops it."""
        with self._lock:
            self._listeners.append(listener)
        return lambda: self._forget(listener)

    def _forget(self, listener: Callable[[ViewFailure], Any]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def report(self, failure: ViewFailure) -> None:
        with self._lock:
            self.count += 1
            self.last = failure
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(failure)
            except Exception:  # the reporter itself must not become the next failure
                log.exception("a view-failure listener failed")


view_failures = ViewFailures()


def _callback_name(caller: Any) -> str:
    target = caller.dereference() if hasattr(caller, "dereference") else caller
    owner = getattr(target, "__self__", None)
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or repr(target)
    name = name.rsplit("<locals>.", 1)[-1]  # a class defined in a function: its own name is enough
    if owner is not None and "." not in name:
        name = f"{type(owner).__name__}.{name}"
    return name


def report_view_failure(where: str, callback: Any, exc: Exception) -> None:
    """A callback run for ``where`` (a signal, or another way a model calls its views back)
    raised: logged with its traceback and reported to :data:`view_failures`. The caller
    goes on with its other callbacks."""
    failure = ViewFailure(where, _callback_name(callback), f"{type(exc).__name__}: {exc}")
    log.error("view callback failed: %s", failure.text(), exc_info=exc)
    view_failures.report(failure)


class _GuardedSignalInstance(psygnal.SignalInstance):
    """psygnal's instance with one guard per callback (see the module's docstring).

    psygnal stops the emit loop at the first failing callback and raises EmitLoopError to
    the emitter; we run the same immediate loop with the failure caught per callback.
    tests/console/core/test_signals.py holds this to psygnal's behaviour."""

    def _run_emit_loop_immediate(self) -> None:
        args = self._emit_queue.popleft()
        for caller in list(self._slots):
            if not caller._is_alive():
                continue
            try:
                caller.cb(args)
            except Exception as exc:
                owner = type(self.instance).__name__ if self.instance is not None else "?"
                report_view_failure(f"{owner}.{self.name}", caller, exc)


def Signal(*types: Any, description: str = "") -> psygnal.Signal:
    """A model's event, declared on its class: ``rated = Signal(object)``. (psygnal's compiled
    Signal cannot be subclassed, so this hands it our guarded instance class.)"""
    return psygnal.Signal(*types, description=description, signal_instance_class=_GuardedSignalInstance)
