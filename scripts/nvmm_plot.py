"""nvmm_plot: what scripts/plot_fit.py and scripts/plot_history.py share (imported from next to
them): the plotting modules with one clear error line when any is missing, the error the scripts
report as one line and exit status 1 (run), and HDF5 string attributes as str."""
import sys


def imports(prog, packages):
    """h5py, matplotlib.pyplot (the Agg backend: no display) and numpy. When any is missing,
    exits with status 1 and the line "PROG: error: WHY; install PACKAGES ...", PACKAGES the
    Debian packages the caller needs, in words."""
    try:
        import h5py
        import matplotlib

        matplotlib.use("Agg")  # no display: must come before pyplot is imported
        import matplotlib.pyplot as plt
        import numpy as np
    except ImportError as e:
        sys.exit(f"{prog}: error: {e}; install {packages} (scripts/deps.sh) and run with "
                 "/usr/bin/python3")
    return h5py, plt, np


class PlotError(Exception):
    """A problem with an input file (or with nvmm), reported as one line and exit status 1."""


def run(prog, work):
    """Calls work() and returns the exit status: 0, or 1 after printing the PlotError it raised
    as the line "PROG: error: ..." on stderr."""
    try:
        work()
    except PlotError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    return 0


def as_str(v):
    """An HDF5 string attribute as str (h5py gives str for UTF-8, bytes for ASCII)."""
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
