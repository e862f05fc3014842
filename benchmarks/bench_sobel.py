"""Sobel Gx, Gy, magnitude and direction: ``sobel`` against OpenCV, scipy, scikit-image, conv2d.

Every method produces the four float32 outputs as numpy arrays, per workload, in
one run on 2 threads; ratios are against OpenCV (``cv2.Sobel`` per image +
``cv2.cartToPolar``), what a user would pick for speed.

``sobel`` recycles the memory of results the caller has dropped (as glibc does
for OpenCV's per-image buffers), so repeated calls skip the page faults of fresh
outputs; the "fresh from the OS" row empties that pool before every call and is
what a single call in a new process pays.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from benchmarks._timing import best_of, limit_threads, print_table


def main() -> None:
    limit_threads()
    import cv2
    import numpy as np
    import torch
    from scipy import ndimage
    from skimage.filters import sobel_h, sobel_v

    from napari_nuclei_edges.gradients import SOBEL_X, SOBEL_Y, release_buffers, sobel

    torch.set_num_threads(2)
    cv2.setNumThreads(2)
    rng = np.random.default_rng(0)
    try:
        from tests.conftest import REFERENCE_DATA

        from napari_nuclei_edges.data import load_dataset

        reference = np.concatenate(list(load_dataset(REFERENCE_DATA).values()))
    except (ImportError, FileNotFoundError):
        from napari_nuclei_edges.data import synthetic_nuclei

        reference = np.concatenate(list(synthetic_nuclei().values()))
    workloads = {
        "250 × 80 × 80 uint8 (reference)": reference,
        "1 × 4096 × 4096 uint8": rng.integers(0, 255, (1, 4096, 4096), dtype=np.uint8),
        "32 × 1024 × 1024 uint8": rng.integers(0, 255, (32, 1024, 1024), dtype=np.uint8),
    }

    def opencv(stack, out=None):
        # the same product as ours: four float32 stacks, filled image by image
        gx, gy, magnitude, angle = out or (np.empty(stack.shape, np.float32) for _ in range(4))
        for i, image in enumerate(stack):
            image = image.astype(np.float32)
            border = cv2.BORDER_REFLECT_101
            cv2.Sobel(image, cv2.CV_32F, 1, 0, dst=gx[i], ksize=3, borderType=border)
            cv2.Sobel(image, cv2.CV_32F, 0, 1, dst=gy[i], ksize=3, borderType=border)
            cv2.cartToPolar(gx[i], gy[i], magnitude=magnitude[i], angle=angle[i])
        return gx, gy, magnitude, angle

    def scipy_(stack):
        as_float = stack.astype(np.float32)
        for image in as_float:
            gx = ndimage.sobel(image, axis=-1, mode="mirror")
            gy = ndimage.sobel(image, axis=-2, mode="mirror")
            np.hypot(gx, gy), np.arctan2(gy, gx)

    def skimage_(stack):
        for image in stack.astype(np.float32):
            gx, gy = sobel_v(image) * 4, sobel_h(image) * 4
            np.hypot(gx, gy), np.arctan2(gy, gx)

    weight = torch.stack([SOBEL_X, SOBEL_Y])[:, None]

    def conv2d(stack):
        x = torch.from_numpy(stack.astype(np.float32))[:, None]
        x = torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")
        g = torch.nn.functional.conv2d(x, weight)
        gx, gy = g[:, 0], g[:, 1]
        torch.hypot(gx, gy).numpy(), torch.atan2(gy, gx).numpy()

    def first_touch(stack):
        # what a one-off call pays: outputs straight from the operating system
        release_buffers()
        start = time.perf_counter()
        sobel(stack)
        return time.perf_counter() - start

    for label, stack in workloads.items():
        cold = statistics.median(first_touch(stack) for _ in range(5))
        reuse = sobel(stack)
        rows = [
            ("sobel (napari-nuclei-edges)", best_of(lambda s=stack: sobel(s), repeat=3)),
            ("sobel, outputs fresh from the OS", cold),
            (
                "sobel(out=...) reusing its outputs",
                best_of(lambda s=stack, r=reuse: sobel(s, out=r), repeat=3),
            ),
            ("cv2.Sobel ×2 + cartToPolar", best_of(lambda s=stack: opencv(s), repeat=3)),
            (
                "cv2, reusing its outputs",
                best_of(lambda s=stack, r=tuple(reuse): opencv(s, r), repeat=3),
            ),
            ("F.conv2d (2, 1, 3, 3) + hypot/atan2", best_of(lambda s=stack: conv2d(s), repeat=3)),
            ("scipy.ndimage.sobel ×2 + numpy", best_of(lambda s=stack: scipy_(s), repeat=3)),
            ("skimage sobel_h/v ×4 + numpy", best_of(lambda s=stack: skimage_(s), repeat=3)),
        ]
        ours = rows[0][1]
        print_table(f"Sobel, four outputs: {label}", rows, reference="sobel (napari-nuclei-edges)")
        print(
            f"  ours: {stack.size / ours / 1e6:.0f} Mpx/s; ~2800 Mpx/s is the memory-bound limit"
        )
    code = (
        "import time, numpy as np; import torch; "
        "from napari_nuclei_edges.gradients import sobel; "
        "x = np.zeros((3, 777, 555), np.uint8); t = time.perf_counter(); sobel(x); "
        "print(f'{time.perf_counter() - t:.3f}')"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    seconds = first.stdout.strip()
    print(f"\nfirst call on a new shape in a new process (after import torch): {seconds} s")


if __name__ == "__main__":
    main()
