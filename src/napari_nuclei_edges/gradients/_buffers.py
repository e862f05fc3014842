"""Recycled output buffers for large results that callers drop between calls.

A fresh multi-hundred-MB numpy array is page-faulted in 4 KiB pages the first
time it is written, and on this kind of machine that costs as much as the Sobel
arithmetic itself. glibc keeps freed blocks of a few MB for reuse, which is why
OpenCV's per-image buffers are cheap, but it returns large blocks to the
operating system. This pool keeps the last few large float32 buffers and hands
one out again only when nothing refers to it any more, so a caller that keeps a
result never sees it overwritten.

numpy only.
"""

from __future__ import annotations

import sys
import threading

import numpy as np

#: Buffers smaller than this come straight from numpy (malloc recycles them).
MIN_BYTES = 4 << 20
#: The most memory the pool keeps, in bytes, counting buffers still in use.
LIMIT_BYTES = 1 << 30


class BufferPool:
    """Float32 buffers that are reused once every view of them is gone.

    Parameters
    ----------
    limit_bytes : int
        Upper bound on the memory the pool refers to; the oldest buffers are
        forgotten beyond it (a buffer still in use then lives on with its user).

    Examples
    --------
    >>> pool = BufferPool()
    >>> a = pool.empty((2, 1024, 1024))
    >>> address = a.__array_interface__["data"][0]
    >>> del a
    >>> pool.empty((2, 1024, 1024)).__array_interface__["data"][0] == address
    True
    """

    def __init__(self, limit_bytes: int = LIMIT_BYTES) -> None:
        self.limit_bytes = limit_bytes
        self._buffers: list[np.ndarray] = []
        self._lock = threading.Lock()

    def empty(self, shape: tuple[int, ...]) -> np.ndarray:
        """An uninitialised C-contiguous float32 array of ``shape``."""
        size = int(np.prod(shape))
        if size * 4 < MIN_BYTES or size * 4 > self.limit_bytes:
            return np.empty(shape, np.float32)
        with self._lock:
            for index in range(len(self._buffers)):
                # 2 references, the list's and getrefcount's argument, mean that no
                # caller holds a view of it any more
                if (
                    self._buffers[index].size == size
                    and sys.getrefcount(self._buffers[index]) == 2
                ):
                    buffer = self._buffers.pop(index)
                    self._buffers.append(buffer)
                    return buffer.reshape(shape)
            buffer = np.empty(size, np.float32)
            self._buffers.append(buffer)
            while sum(b.nbytes for b in self._buffers) > self.limit_bytes:
                self._buffers.pop(0)
            return buffer.reshape(shape)

    def clear(self) -> None:
        """Forget every buffer, so that memory no caller holds goes back to the system."""
        with self._lock:
            self._buffers.clear()

    @property
    def nbytes(self) -> int:
        """Memory the pool refers to, in bytes."""
        with self._lock:
            return sum(b.nbytes for b in self._buffers)
