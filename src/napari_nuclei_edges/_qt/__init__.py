"""Every module that imports Qt, magicgui or pyqtgraph lives here."""
