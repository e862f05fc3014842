"""Every module that imports Qt or pyqtgraph lives here (the threshold model needs psygnal)."""
