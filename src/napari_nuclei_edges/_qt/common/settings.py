"""Widget settings remembered between sessions (Qt's QSettings, one INI group per widget)."""

from __future__ import annotations

from qtpy.QtCore import QSettings

ORGANISATION = "napari-nuclei-edges"


def widget_settings(widget_name: str) -> QSettings:
    """The settings store of one widget, in the user's configuration folder."""
    return QSettings(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, widget_name
    )


def read(settings: QSettings, key: str, default):
    """``settings[key]`` converted to the type of ``default`` (INI stores strings)."""
    value = settings.value(key, default)
    if value is None:
        return default
    if isinstance(default, bool):
        return value if isinstance(value, bool) else str(value).lower() == "true"
    try:
        return type(default)(value)
    except (TypeError, ValueError):
        return default


def restore_fields(state, settings: QSettings, defaults: dict) -> None:
    """Set each field of an evented ``state`` from ``settings`` (``defaults`` when unset)."""
    for key, default in defaults.items():
        setattr(state, key, read(settings, key, default))


def remember_fields(state, settings: QSettings, keys) -> None:
    """Write each of ``keys`` to ``settings`` whenever that field of ``state`` changes."""
    for key in keys:
        getattr(state.events, key).connect(_writer(settings, key))


def _writer(settings: QSettings, key: str):
    # one closure per key: psygnal would pass the old value to a defaulted argument
    return lambda value: settings.setValue(key, value)
