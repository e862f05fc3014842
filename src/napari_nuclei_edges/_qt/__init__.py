"""Every module that imports Qt or pyqtgraph lives here (the threshold model only needs psygnal)."""
