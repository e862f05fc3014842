"""Can Qt draw here? Answered before Qt starts (Qt aborts the process when it cannot)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def display_problem() -> str | None:
    """A sentence when Qt has nowhere to draw, found before Qt starts (Qt would abort)."""
    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return None
    display, wayland = os.environ.get("DISPLAY"), os.environ.get("WAYLAND_DISPLAY")
    if not display and not wayland:
        return (
            "No display found (DISPLAY is not set), so napari cannot open a window. "
            "Run this on a desktop, or under a virtual screen: xvfb-run -a napari-nuclei-edges"
        )
    if wayland and wayland_socket(wayland).exists():
        return None
    if display and x_display_opens(display):
        return None
    shown = f"DISPLAY={display}" if display else f"WAYLAND_DISPLAY={wayland}"
    return (
        f"The display {shown} does not open, so napari cannot open a window. Check that "
        "the desktop session is running and DISPLAY is right (over ssh: ssh -X), or run "
        "under a virtual screen: xvfb-run -a napari-nuclei-edges"
    )


def wayland_socket(name: str) -> Path:
    return Path(os.environ.get("XDG_RUNTIME_DIR", f"/run/user/{os.getuid()}"), name)


#: Opens the X display with Xlib (no Qt): exit 0 when it opens, 1 when not, 3 without Xlib.
_X_PROBE = """
import ctypes, ctypes.util, sys
name = ctypes.util.find_library("X11")
if not name:
    sys.exit(3)
xlib = ctypes.CDLL(name)
xlib.XOpenDisplay.restype = ctypes.c_void_p
xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
display = xlib.XOpenDisplay(None)
if not display:
    sys.exit(1)
xlib.XCloseDisplay(display)
"""


def x_display_opens(display: str) -> bool:
    """Whether the X display opens, asked in a child process before Qt starts.

    A child, so that an X server that never answers costs a timeout rather than a
    hang, and Xlib's exit on a broken connection is not ours; Xlib, so the answer
    includes the X authority (a socket that exists but refuses us is "no").
    Without Xlib, whether the display's socket takes a connection.
    """
    import subprocess

    try:
        done = subprocess.run([sys.executable, "-c", _X_PROBE], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    if done.returncode != 3:
        return done.returncode == 0
    return x_socket_answers(display)


def x_socket_answers(display: str) -> bool:
    import re
    import socket

    match = re.fullmatch(r"(?:unix)?(.*?):(\d+)(?:\.\d+)?", display)
    if not match:
        return False
    host, number = match.group(1), int(match.group(2))
    try:
        if host in ("", "unix"):
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(2)
                sock.connect(f"/tmp/.X11-unix/X{number}")
        else:
            socket.create_connection((host, 6000 + number), timeout=2).close()
    except OSError:
        return False
    return True
