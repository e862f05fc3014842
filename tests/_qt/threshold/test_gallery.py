"""*Compare methods by eye*: thumbnails that show when opened, and show nuclei on a field."""

import numpy as np
import pytest
from qtpy.QtWidgets import QLabel

PLUGIN = "napari-nuclei-edges"


def _thumbnails(widget):
    return [label for label in widget._methods_panel.findChildren(QLabel)
            if label.pixmap() is not None and not label.pixmap().isNull()]  # fmt: skip


def _rgb(label) -> np.ndarray:
    from qtpy.QtGui import QImage

    image = label.pixmap().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    bits = image.constBits()  # PyQt6: a sip.voidptr; PySide6: a memoryview
    raw = bytes(bits) if isinstance(bits, memoryview) else bits.asstring(image.sizeInBytes())
    data = np.frombuffer(raw, np.uint8)
    return data.reshape(h, image.bytesPerLine())[:, : 3 * w].reshape(h, w, 3)


def _yellow(rgb: np.ndarray) -> np.ndarray:
    """The outline's pixels (a 16-bit screen rounds its colour a little)."""
    r, g, b = (rgb[..., i].astype(int) for i in range(3))
    return (r > 230) & (abs(g - 220) < 12) & (b < 30)


def _try_all(widget, qtbot):
    widget._try_all_button.click()
    qtbot.waitUntil(widget._try_all_button.isEnabled, timeout=60_000)


def _shown_dock(make_napari_viewer, layers):
    viewer = make_napari_viewer(show=True)
    for data, meta, kind in layers:
        getattr(viewer, f"add_{kind}")(data, **meta)
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Histograms and threshold")
    return widget


def _all_in_view(widget) -> bool:
    """Every thumbnail is laid out whole inside the open section: no empty strip."""
    content = widget._methods_panel.gallery_section.content()
    thumbnails = _thumbnails(widget)
    return bool(thumbnails) and all(
        label.isVisible() and label.height() >= label.pixmap().height() > 0
        and label.mapTo(content, label.rect().bottomLeft()).y() < content.height()
        for label in thumbnails
    )  # fmt: skip


@pytest.mark.parametrize("how", ["open", "opened after", "measured empty"])
def test_the_gallery_shows_its_thumbnails_when_opened(make_napari_viewer, qtbot, how):
    from napari_nuclei_edges._plugin.sample_data import synthetic_nuclei_sample

    widget = _shown_dock(make_napari_viewer, synthetic_nuclei_sample(n_per_class=6))
    gallery = widget._methods_panel.gallery_section
    if how == "opened after":
        gallery.collapse(animate=False)
    if how == "measured empty":  # what superqt keeps when it was opened before any tile
        gallery.content().setMaximumHeight(10)
    _try_all(widget, qtbot)
    if how == "opened after":
        assert gallery.content().height() == 0
        gallery.toggleButton().click()  # the user opens it
    qtbot.waitUntil(lambda: _all_in_view(widget), timeout=3000)
    outlined = 0
    for label in _thumbnails(widget):
        rgb = _rgb(label)
        assert rgb.shape == (60, 60, 3)
        assert np.ptp(rgb) > 100  # an image, not a blank tile
        outlined += _yellow(rgb).any()  # the mask's outline
    assert outlined > 0.8 * len(_thumbnails(widget))


def _field(size=512, n=60, seed=0):
    """A 12-bit field of round nuclei (radius 9–14 px)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:size, :size]
    mask = np.zeros((size, size), bool)
    centres, radii = rng.uniform(0, size, (n, 2)), rng.uniform(9, 14, n)
    for (cy, cx), r in zip(centres, radii, strict=True):
        mask |= (y - cy) ** 2 + (x - cx) ** 2 <= r * r
    mask[246:266, 246:266] = True  # one nucleus at the centre at least
    image = 200 + 1800 * mask + rng.normal(0, 60, mask.shape)
    return np.clip(image, 0, 4095).astype(np.uint16)


def test_a_large_image_shows_its_centre_at_a_readable_scale(make_napari_viewer, qtbot):
    image = _field()
    widget = _shown_dock(make_napari_viewer, [(image, {"name": "field"}, "image")])
    widget.select_layers(["field"])
    _try_all(widget, qtbot)
    qtbot.waitUntil(lambda: _all_in_view(widget), timeout=3000)
    otsu = next(label for label in _thumbnails(widget) if label.toolTip().startswith("otsu"))
    assert "the centre 120 × 120 px of 512 × 512" in otsu.toolTip()
    rgb = _rgb(otsu)
    outline = _yellow(rgb)
    # the centre nucleus (20 px wide, 10 on screen) is a closed ring, not a speck
    ring = outline[22:38, 22:38]
    assert ring.any(axis=1).sum() >= 9 and ring.any(axis=0).sum() >= 9
