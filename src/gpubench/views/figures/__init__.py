"""Figures, as PNG files: a run's (``run``: each suite's plotters), a machine's history
(``history``) and the fleet's (``fleet``).

The package itself imports nothing: a view that finds its figures up to date (``history``, see
``gpubench.files.figure_inputs``) never loads matplotlib.
"""
