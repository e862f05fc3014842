"""The batch command's classification step, block by block."""

import numpy as np

from napari_nuclei_edges.classification import fit_classifier, measure, predict
from napari_nuclei_edges.classification.batch_steps import (
    classify_block,
    join_tables,
    prediction_table,
)
from napari_nuclei_edges.classification.model_io import table_csv
from napari_nuclei_edges.data import synthetic_nuclei


def test_blocks_joined_equal_the_whole_stack():
    data = synthetic_nuclei(n_per_class=6, size=40)
    *_, last = fit_classifier(data, epochs=5)
    stack = np.concatenate(list(data.values()))
    tables = [classify_block(stack[i : i + 7], i, last.model) for i in range(0, len(stack), 7)]
    table = join_tables(tables)
    whole = predict(last.model, stack)
    assert table["image"].tolist() == list(range(len(stack)))
    assert table["predicted_class"].tolist() == whole.labels.tolist()
    np.testing.assert_allclose(table["p_metaphase"], whole.probabilities[:, 2], rtol=1e-5)
    lines = table_csv(table).splitlines()
    assert len(lines) == len(stack) + 1 and "predicted_class" in lines[0]


def test_without_a_model_only_measurements_and_prediction_table_columns():
    data = synthetic_nuclei(n_per_class=3, size=40)
    table = classify_block(data["apoptosis"], start=5)
    assert "predicted_class" not in table and table["image"].tolist() == [5, 6, 7]
    *_, last = fit_classifier(data, epochs=2)
    rows = prediction_table(predict(last.model, data["apoptosis"]), start=5)
    assert list(rows)[:3] == ["image", "predicted_class", "confidence"]
    assert rows["image"].tolist() == [5, 6, 7]


def test_block_tables_keep_the_good_images_of_a_block_with_bad_ones():
    from napari_nuclei_edges.classification.batch_steps import block_tables
    from napari_nuclei_edges.classification.measurements import FEATURES

    data = synthetic_nuclei(n_per_class=4, size=40)
    *_, last = fit_classifier(data, model="features", epochs=5)
    block = np.concatenate(list(data.values()))[:8].astype(np.float32)
    block[2] = 3.0  # constant: no nucleus, NaN measurements, not a problem
    block[5, 0, 0] = np.nan  # refused by measure: named, its rows placeholders
    found = block_tables(block, model=last.model)
    assert list(found.problems) == [5] and "NaN pixels" in found.problems[5]
    assert list(found.measurements) == ["label", *FEATURES]
    assert np.isnan(found.measurements["area"][[2, 5]]).all()
    assert found.measurements["label"][2] == 0 and found.measurements["object_count"][2] == 0
    good = [0, 1, 3, 4, 6, 7]
    alone = measure(block[good])
    np.testing.assert_allclose(found.measurements["area"][good], alone["area"])
    whole = predict(last.model, block[good])
    assert found.predictions["class"][good].tolist() == whole.indices.tolist()
    np.testing.assert_allclose(found.predictions["probabilities"][good], whole.probabilities,
                               rtol=1e-5)  # fmt: skip
    assert found.predictions["class"][5] == -1 and np.isnan(found.predictions["confidence"][5])


def test_block_tables_of_a_cnn_without_measurements():
    from napari_nuclei_edges.classification.batch_steps import block_tables

    data = synthetic_nuclei(n_per_class=3, size=40)
    *_, last = fit_classifier(data, model="cnn", epochs=1, layers=1, channels=4)
    block = data["metaphase"]
    found = block_tables(block, measurements=False, model=last.model)
    assert found.measurements is None and found.problems == {}
    np.testing.assert_allclose(found.predictions["probabilities"],
                               predict(last.model, block).probabilities, rtol=1e-5)  # fmt: skip
