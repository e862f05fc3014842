"""The one worker path of every dock: long work in a napari worker, failures as values.

A dock hands :func:`start_worker` a plain function or generator that touches no
widget and no layer. Whatever it raises comes back as a :class:`Failure` value,
yielded last (generators) or returned (functions), and reaches the dock's
``on_failure`` with a sentence. No dock relies on napari's ``errored`` signal:
superqt re-raises an unhandled error in the GUI thread, and napari's task-status
handler on ``errored`` takes one argument too few under PySide6.
"""

from __future__ import annotations

import functools
import inspect
import traceback
from collections.abc import Callable
from dataclasses import dataclass

#: Errors that carry a sentence for the user (our own and numpy's/torch's).
EXPECTED = (ValueError, TypeError, ArithmeticError, MemoryError, OSError, KeyError)


@dataclass(frozen=True)
class Failure:
    """Why a worker's work ended early, as the sentence a dock shows."""

    message: str


def failure_of(exc: BaseException) -> Failure:
    """The sentence for an exception: its own message when it is one we expect."""
    if isinstance(exc, EXPECTED) and str(exc):
        return Failure(str(exc))
    # an unexpected error: the type and where it came from help a bug report
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    place = f" (in {where[0].name}, {where[0].filename.rsplit('/', 1)[-1]}:{where[0].lineno})"
    return Failure(f"{type(exc).__name__}: {exc}{place if where else ''}")


def failures_as_values(function: Callable) -> Callable:
    """Wrap a function or generator function so that an exception becomes a Failure.

    Examples
    --------
    >>> def steps():
    ...     yield 1
    ...     raise ValueError("the image is constant")
    >>> list(failures_as_values(steps)())
    [1, Failure(message='the image is constant')]
    >>> failures_as_values(lambda: 1 / 0)()
    Failure(message='division by zero')
    """
    if inspect.isgeneratorfunction(function):

        @functools.wraps(function)
        def generator(*args, **kwargs):
            try:
                return (yield from function(*args, **kwargs))
            except Exception as exc:  # every failure becomes a value the dock shows
                yield failure_of(exc)

        return generator

    @functools.wraps(function)
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception as exc:  # every failure becomes a value the dock shows
            return failure_of(exc)

    return call


def start_worker(
    function: Callable,
    *args,
    on_failure: Callable[[str], None],
    on_yielded: Callable | None = None,
    on_returned: Callable | None = None,
    on_finished: Callable | None = None,
    progress: dict | None = None,
    start: bool = True,
    owner=None,
    **kwargs,
):
    """Run ``function(*args, **kwargs)`` in a napari worker; failures go to ``on_failure``.

    Parameters
    ----------
    function : callable
        A plain function or generator function; it must not touch Qt or layers.
    on_failure : callable
        Called in the GUI thread with the sentence of any failure.
    on_yielded, on_returned, on_finished : callable, optional
        Called in the GUI thread with each yielded value, the returned value, and
        at the end (also after a failure or a quit).
    progress : dict, optional
        napari's progress bar arguments (``{"total": n, "desc": "…"}``).
    start : bool
        Start the worker now (else the caller calls ``worker.start()``).
    owner : QObject, optional
        The dock the results are for: once Qt has deleted it, no callback runs
        (values the worker sent before it saw its quit still arrive, and Qt only
        disconnects a deleted object's own methods, not these closures).

    Returns
    -------
    napari.qt.threading.WorkerBase
        With ``done``: False until it has finished (``is_running`` is False until
        its thread has started, so a dock that reads it at once thinks it idle).
    """
    from napari.qt.threading import create_worker
    from qtpy.compat import isalive

    failed = []  # after a failure a generator returns None: that is no result

    def alive(handler):
        def call(*args):
            if owner is None or isalive(owner):
                handler(*args)

        return call

    def route(handler):
        @alive
        def receive(value):
            if isinstance(value, Failure):
                failed.append(value)
                on_failure(value.message)
            elif handler is not None and not failed:
                handler(value)

        return receive

    connect = {
        "returned": route(on_returned),
        # never reached through failures_as_values; connected so superqt does not re-raise
        "errored": alive(lambda exc: on_failure(failure_of(exc).message)),
    }
    if inspect.isgeneratorfunction(function):  # a FunctionWorker has no yielded signal
        connect["yielded"] = route(on_yielded)
    made = []

    def finished() -> None:
        if made:
            made[0].done = True  # before on_finished, which may read it
        if on_finished is not None:
            alive(on_finished)()

    connect["finished"] = finished
    options = {"_start_thread": False, "_connect": connect}
    if progress is not None:
        options["_progress"] = progress
    worker = create_worker(failures_as_values(function), *args, **options, **kwargs)
    worker.done = False  # True once finished: busy from start() on, not only once running
    made.append(worker)
    if start:
        worker.start()
    return worker
