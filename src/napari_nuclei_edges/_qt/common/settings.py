"""Widget settings remembered between sessions (Qt's QSettings, one INI group per widget).

A settings file is the user's (or anyone's) text: every value read back is checked
(its type, finite, within the control's range or among its choices). A value that is
not usable falls back to the default, is removed from the file, and the dock says once
which setting it reset (:func:`reset_sentence`).
"""

from __future__ import annotations

import math

from qtpy.QtCore import QSettings

ORGANISATION = "napari-nuclei-edges"

#: Settings reset since the dock last asked, by settings file: ``[(key, stored text)]``.
_RESETS: dict[str, list[tuple[str, str]]] = {}


def widget_settings(widget_name: str) -> QSettings:
    """The settings store of one widget, in the user's configuration folder."""
    return QSettings(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, widget_name
    )


def limits(control, scale: float = 1.0):
    """What ``control`` accepts, as :func:`read`'s ``within``.

    A spin box: its ``(minimum, maximum)`` divided by ``scale`` (a percentage stored as a
    fraction: ``scale=100``); a combo box: its items' data (their text when none has
    data); anything else (a check box): None, any value of the default's type.
    """
    if hasattr(control, "findData"):
        data = [control.itemData(i) for i in range(control.count())]
        if any(item is not None for item in data):  # the combo is read by its data
            return set(data)
        return {control.itemText(i) for i in range(control.count())}
    if hasattr(control, "minimum"):
        return control.minimum() / scale, control.maximum() / scale
    return None  # a check box: any bool


def read(settings: QSettings, key: str, default, within=None):
    """``settings[key]`` converted to the type of ``default`` (INI stores strings).

    ``default`` when the key is unset. A stored value that cannot be converted, is not
    finite, lies outside ``within`` (a ``(low, high)`` tuple, or a collection of the
    values allowed) is removed, noted for :func:`reset_sentence`, and ``default``
    returned.
    """
    value = settings.value(key, None)
    if value is None:
        return default
    converted = _converted(value, default)
    if converted is None or not _inside(converted, within):
        _RESETS.setdefault(settings.fileName(), []).append((key, str(value)))
        settings.remove(key)
        return default
    return converted


def reset_sentence(settings: QSettings) -> str:
    """Which settings were reset since the last call, in one sentence ('' when none).

    Said once: the reset values were removed from the file.
    """
    resets = _RESETS.pop(settings.fileName(), [])
    if not resets:
        return ""
    named = ", ".join(f"{key} (was {_short(text)!r})" for key, text in resets)
    return f"Saved setting{'s' if len(resets) > 1 else ''} reset to the default: {named}."


def restore_fields(state, settings: QSettings, defaults: dict, within: dict | None = None):
    """Set each field of an evented ``state`` from ``settings`` (``defaults`` when unset).

    ``within``: the allowed values of some fields, as :func:`read` takes them.
    """
    within = within or {}
    for key, default in defaults.items():
        setattr(state, key, read(settings, key, default, within.get(key)))


def remember_fields(state, settings: QSettings, keys) -> None:
    """Write each of ``keys`` to ``settings`` whenever that field of ``state`` changes."""
    for key in keys:
        getattr(state.events, key).connect(_writer(settings, key))


def _converted(value, default):
    """``value`` as ``default``'s type, or None when it is not one."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        return {"true": True, "false": False}.get(text)
    try:
        if isinstance(default, int):
            return int(str(value).strip())  # "1.5" and "nan" are not integers
        converted = type(default)(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if isinstance(converted, float) and not math.isfinite(converted):
        return None
    return converted


def _inside(value, within) -> bool:
    if within is None:
        return True
    if isinstance(within, tuple) and len(within) == 2 and not isinstance(value, str):
        low, high = within
        return low <= value <= high
    return value in within


def _short(text: str) -> str:
    return text if len(text) <= 24 else text[:23] + "…"


def _writer(settings: QSettings, key: str):
    # one closure per key: psygnal would pass the old value to a defaulted argument
    return lambda value: settings.setValue(key, value)
