import threading

import numpy as np
import pytest

from napari_nuclei_edges.gradients._buffers import MIN_BYTES, BufferPool

SHAPE = (2, 1024, 1024)  # 8 MiB of float32, above MIN_BYTES


def address(array) -> int:
    return array.__array_interface__["data"][0]


def test_dropped_buffers_are_reused():
    pool = BufferPool()
    first = pool.empty(SHAPE)
    where = address(first)
    del first
    again = pool.empty(SHAPE)
    assert address(again) == where
    assert again.shape == SHAPE and again.dtype == np.float32 and again.flags.c_contiguous


@pytest.mark.parametrize(
    "keep",
    [
        lambda a: a,
        lambda a: a[0],
        lambda a: a.reshape(-1),
        lambda a: memoryview(a),
        lambda a: __import__("torch").from_numpy(a),
    ],
    ids=["array", "slice", "reshape", "memoryview", "torch"],
)
def test_a_buffer_someone_holds_is_never_handed_out(keep):
    pool = BufferPool()
    first = pool.empty(SHAPE)
    first[:] = 7
    kept = keep(first)
    del first
    second = pool.empty(SHAPE)
    second[:] = 0
    assert np.asarray(kept).min() == 7
    assert address(second) != address(np.asarray(kept))


def test_small_and_huge_requests_bypass_the_pool():
    pool = BufferPool(limit_bytes=16 << 20)
    small = pool.empty((MIN_BYTES // 8,))
    huge = pool.empty((8, 1024, 1024))  # 32 MiB, over the limit
    assert small.size == MIN_BYTES // 8 and huge.shape == (8, 1024, 1024)
    assert pool.nbytes == 0


def test_the_pool_forgets_the_oldest_beyond_its_limit():
    pool = BufferPool(limit_bytes=20 << 20)
    held = [pool.empty(SHAPE) for _ in range(3)]  # 3 × 8 MiB
    assert pool.nbytes == 16 << 20
    held[0][:] = 1
    assert held[0].min() == 1  # forgotten by the pool, still valid for its user
    pool.clear()
    assert pool.nbytes == 0


def test_threads_never_share_a_buffer():
    pool = BufferPool()
    seen, errors = [], []

    def work(value):
        for _ in range(20):
            a = pool.empty(SHAPE)
            a[:] = value
            if not (a == value).all():
                errors.append(value)
            seen.append(address(a))

    threads = [threading.Thread(target=work, args=(v,)) for v in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # each thread holds its last buffer while asking for the next
    assert len(set(seen)) <= 8
