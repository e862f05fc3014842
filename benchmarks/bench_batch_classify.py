"""Images/s of `batch --steps measure,classify` on N synthetic 80x80 images (zarr in)."""
import sys, tempfile, time
import numpy as np, zarr
from napari_nuclei_edges.batch import run_batch
from napari_nuclei_edges.classification import fit_classifier, save_classifier
from napari_nuclei_edges.data import synthetic_nuclei

n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
folder = tempfile.mkdtemp()
data = synthetic_nuclei(n_per_class=50)
stack = np.concatenate(list(data.values()))
array = zarr.create_array(f"{folder}/in.zarr", shape=(n, 80, 80), chunks=(256, 80, 80), dtype="uint8")
for i in range(0, n, 250):
    array[i:i + 250] = stack[: min(250, n - i)]
for model in ("features", "cnn"):
    *_, last = fit_classifier(data, model=model, epochs=3)
    path = save_classifier(f"{folder}/{model}", last.model)
    for steps in (("measure",), ("classify",), ("measure", "classify")):
        if model == "cnn" and steps == ("measure",):
            continue
        start = time.perf_counter()
        r = run_batch(f"{folder}/in.zarr", f"{folder}/{model}-{'-'.join(steps)}.zarr", steps=steps,
                      model=path if "classify" in steps else None, progress=False)
        s = time.perf_counter() - start
        print(f"{model:8s} {'+'.join(steps):17s} {r.processed} images {s:6.2f} s  {r.processed / s:7.0f} images/s")
