"""The threshold dock's state, Qt-free: what is selected and set, and the rules between them.

The dock's controls and its histogram view are views of one :class:`ThresholdState`:
they write to it through its methods and redraw on its events (psygnal emits one
per field that changes). The rules live here, once, and are tested without Qt:

- a threshold set by hand (typed or dragged) is no method's: the method becomes
  ``"manual"``;
- a method sets the threshold to its value (the dock computes the value from the
  data; the state only records it);
- a band keeps ``threshold <= upper``;
- the threshold and the upper handle stay inside the data's range, which follows
  the selected layers;
- layers a user made start selected, the plugin's own outputs do not, and a
  user's own choice for a layer name is remembered; a layer that arrives while
  others are selected joins them only if it looks like another class of the
  same dataset (same dtype and image shape): a stray image is not counted;
- *Apply* uses the threshold as set (typed, dragged, or a method's pooled
  value) on every image, unless a method is chosen and the user asks for its
  per-image rule: a hand-set threshold is never silently replaced.

Examples
--------
>>> state = ThresholdState()
>>> state.set_range(0, 255)
>>> state.use_method("otsu", 80.0)
>>> state.threshold, state.method
(80.0, 'otsu')
>>> state.set_threshold(90)          # by hand: no method's value any more
>>> state.method, state.method_value
('manual', None)
>>> state.set_threshold(999)         # kept inside the data's range
>>> state.threshold
255.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from psygnal import evented

MANUAL = "manual"
POLARITIES = ("bright", "dark")
AS_SET = "as set"
PER_IMAGE = "per image"
#: How Apply thresholds: the dock's one threshold, or the chosen method on each image.
SEGMENT_RULES = (AS_SET, PER_IMAGE)
#: State fields remembered between sessions, with their defaults. The preview switch
#: is not: on opening it says whether previews are shown (see the widget).
REMEMBERED = {"log": False, "density": False, "bins": 0, "polarity": "bright",
              "threshold": 0.0, "method": "otsu", "segment_rule": PER_IMAGE}  # fmt: skip
#: What a remembered value may be (read back checked; the data's range clamps it later).
REMEMBERED_WITHIN = {"bins": (0, 1 << 16), "threshold": (-1e12, 1e12),
                     "polarity": set(POLARITIES), "segment_rule": set(SEGMENT_RULES)}  # fmt: skip


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun``, singular for one: every count the dock writes.

    Examples
    --------
    >>> counted(1, "layer"), counted(5, "layer"), counted(1, "nucleus", "nuclei")
    ('1 layer', '5 layers', '1 nucleus')
    """
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


@evented
@dataclass
class ThresholdState:
    """Everything the threshold dock shows and the user sets; one event per field."""

    layers: tuple[str, ...] = ()  # the selected image layers, in layer order
    threshold: float = 0.0
    upper: float = 0.0  # the band's upper handle
    band: bool = False
    method: str = MANUAL
    method_value: float | None = None  # the method's own value (the dotted line)
    polarity: str = "bright"
    bins: int = 0  # bins drawn; 0: automatic (counting is always exact)
    preview: bool = False
    segment_rule: str = PER_IMAGE  # what the user picked; see `apply_rule` for what Apply does
    log: bool = False
    density: bool = False
    low: float = 0.0  # the selected data's range
    high: float = 255.0
    choices: dict[str, bool] = field(default_factory=dict)  # the user's own ticks
    arrived: dict[str, bool] = field(default_factory=dict)  # each layer's tick on arrival

    # ---------------------------------------------------------------- threshold

    def set_threshold(self, value: float) -> None:
        """A threshold set by hand: clamped to the range; it clears the method."""
        value = self._clamp(value)
        if self.method != MANUAL and (
            self.method_value is None or abs(value - self.method_value) > 1e-9
        ):
            self.method_value = None
            self.method = MANUAL
        self.threshold = value
        if self.band and self.upper < value:
            self.upper = value

    def use_method(self, method: str, value: float | None) -> None:
        """``method`` chosen; its threshold ``value`` (None: it found none here)."""
        self.method_value = None if value is None else float(value)
        self.method = method
        if value is not None:
            self.threshold = self._clamp(value)
            if self.band and self.upper < self.threshold:
                self.upper = self.threshold

    def clear_method(self) -> None:
        """Back to a hand-set threshold, keeping its value."""
        self.method_value = None
        self.method = MANUAL

    def set_upper(self, value: float) -> None:
        """The band's upper handle, never below the threshold."""
        self.upper = max(self._clamp(value), self.threshold)

    def set_band(self, on: bool) -> None:
        """Band on: the upper handle starts at the top of the range if it was not above."""
        self.band = bool(on)
        if on and self.upper <= self.threshold:
            self.upper = self.high

    def set_polarity(self, polarity: str) -> None:
        if polarity not in POLARITIES:
            raise ValueError(f"polarity must be one of {POLARITIES}, not {polarity!r}.")
        self.polarity = polarity

    # ---------------------------------------------------------------- apply

    def set_segment_rule(self, rule: str) -> None:
        if rule not in SEGMENT_RULES:
            raise ValueError(f"the rule must be one of {SEGMENT_RULES}, not {rule!r}.")
        self.segment_rule = rule

    @property
    def apply_rule(self) -> str:
        """What *Apply* does: per image only with a method to compute on each image."""
        return PER_IMAGE if self.segment_rule == PER_IMAGE and self.method != MANUAL else AS_SET

    def apply_plan(self, sigma: float = 0.0, images: int | None = None) -> str:
        """The sentence the dock shows before *Apply*: which thresholds it will use.

        ``images``: how many 2D images the selected layers hold (None: several).

        Examples
        --------
        >>> state = ThresholdState()
        >>> state.set_range(0, 255); state.set_threshold(120)
        >>> state.apply_plan()
        'Apply uses t = 120 (as set) on every image.'
        >>> state.use_method("otsu", 77.0); state.set_segment_rule("per image")
        >>> state.apply_plan(sigma=1.0)
        'Apply uses otsu on each image on its own (per image), after smoothing σ = 1.'
        >>> state.offer([("field", False)]); state.apply_plan(images=1)
        'Apply uses otsu on the one image.'
        """
        after = f", after smoothing σ = {sigma:g}" if sigma > 0 else ""
        one = images == 1
        if self.apply_rule == PER_IMAGE:
            if one:
                return f"Apply uses {self.method} on the one image{after}."
            return f"Apply uses {self.method} on each image on its own (per image){after}."
        pooled = pool_text(self.method, len(self.layers), one)
        source = "as set" if self.method == MANUAL else pooled
        where = "on the one image" if one else "on every image"
        return f"Apply uses t = {self.threshold:g} ({source}) {where}{after}."

    # ---------------------------------------------------------------- data

    def set_range(self, low: float, high: float) -> None:
        """The selected data's range; the handles are kept inside it."""
        if not high >= low:
            raise ValueError(f"the range needs low <= high, not ({low}, {high}).")
        self.low, self.high = float(low), float(high)
        self.threshold = self._clamp(self.threshold)
        self.upper = self._clamp(self.upper)
        if self.band and self.upper < self.threshold:
            self.upper = self.threshold

    def offer(self, layers: Sequence[tuple]) -> None:
        """The image layers on offer as ``(name, made_by_the_plugin[, kind])``, in layer
        order; ``kind`` (any value: the dock gives dtype and image shape) tells datasets apart.

        Selected: the user's own choice for that name, else the tick it got on
        arriving: every layer the plugin did not make while none is selected; then,
        only one of the ``kind`` of a selected layer (another class of the dataset).
        """
        kinds = {name: rest[0] if rest else None for name, _, *rest in layers}
        ticked = {kinds[name] for name in self.layers if name in kinds}
        arrived = {name: self.arrived[name] for name in kinds if name in self.arrived}
        for name, owned, *_ in layers:
            if name not in arrived:
                arrived[name] = not owned and (not ticked or kinds[name] in ticked)
        if arrived != self.arrived:
            self.arrived = arrived  # a name that left and comes back arrives again
        self.layers = tuple(name for name, *_ in layers if self.choices.get(name, arrived[name]))

    def choose(self, name: str, selected: bool, offered: Sequence[tuple]) -> None:
        """The user ticks or unticks ``name``; remembered while the dock lives."""
        self.choices = {**self.choices, name: bool(selected)}
        self.offer(offered)

    def rename(self, old: str, new: str) -> None:
        """A layer was renamed: its choice follows it."""
        if old in self.choices:
            choices = dict(self.choices)
            choices[new] = choices.pop(old)
            self.choices = choices
        if old in self.arrived:
            self.arrived = {new if name == old else name: on for name, on in self.arrived.items()}
        self.layers = tuple(new if name == old else name for name in self.layers)

    def _clamp(self, value: float) -> float:
        return float(min(max(float(value), self.low), self.high))


def pool_text(method: str, layers: int | None, one_image: bool = False) -> str:
    """What a method's one threshold was computed on, as the plan and the result say it.

    ``layers``: how many layers were pooled (None: not known).

    Examples
    --------
    >>> pool_text("otsu", 5), pool_text("otsu", 1), pool_text("otsu", 1, one_image=True)
    ('otsu, pooled over 5 layers', "otsu of the layer's images", 'otsu of the image')
    """
    if layers is None:
        return f"{method}, pooled"
    if layers <= 1:
        return f"{method} of the image" if one_image else f"{method} of the layer's images"
    return f"{method}, pooled over {counted(layers, 'layer')}"


def used_thresholds(
    name: str, thresholds, rule: str, method: str, layers: int | None = None
) -> str:
    """The sentence the dock shows after *Apply*: the thresholds ``<name>_labels`` used.

    ``layers``: how many layers a method's one threshold was pooled over.

    Examples
    --------
    >>> used_thresholds("metaphase", [120.0, 120.0], AS_SET, MANUAL)
    'metaphase_labels: t = 120 on every image (as set).'
    >>> used_thresholds("metaphase", [55.25, 89.0, 60.0], PER_IMAGE, "otsu")
    'metaphase_labels: otsu per image, t = 55.25 – 89 over 3 images (each in its metadata).'
    >>> used_thresholds("field", [77.5], PER_IMAGE, "otsu")
    'field_labels: otsu on its image, t = 77.5.'
    >>> used_thresholds("field", [77.0], AS_SET, "otsu", layers=1)
    'field_labels: t = 77 on its image (otsu of the image).'
    """
    values = [float(t) for t in thresholds]
    one = len(values) == 1
    if rule == PER_IMAGE:
        if one:
            return f"{name}_labels: {method} on its image, t = {values[0]:.6g}."
        low, high = min(values), max(values)
        return (f"{name}_labels: {method} per image, t = {low:.4g} – {high:.4g} "
                f"over {counted(len(values), 'image')} (each in its metadata).")  # fmt: skip
    source = "as set" if method == MANUAL else pool_text(method, layers, one)
    where = "on its image" if one else "on every image"
    return f"{name}_labels: t = {values[0]:.6g} {where} ({source})."
