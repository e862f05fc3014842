"""The batch command's classification step, block by block."""

import numpy as np

from napari_nuclei_edges.classification import fit_classifier, predict
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
