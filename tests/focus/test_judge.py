import numpy as np

from napari_nuclei_edges.focus import curve_width, false_maxima, judge_curve


def test_false_maxima_and_width():
    assert false_maxima([0, 1, 2, 3, 2, 1, 0]) == 0
    assert false_maxima([0, 2, 1, 3, 1, 2, 0]) == 2
    assert false_maxima([1, 1, 1]) == 0
    assert curve_width([0, 0, 10, 0, 0]) == 1
    assert curve_width(np.ones(4)) == 4
    assert judge_curve([0, 5, 10, 5, 0], 1) == {"error": 1, "false_maxima": 0, "width": 1}
