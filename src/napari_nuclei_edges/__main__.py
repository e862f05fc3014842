"""``python -m napari_nuclei_edges [PATH]``: the same as the ``napari-nuclei-edges`` command."""

import sys

from ._cli import main

sys.exit(main())
