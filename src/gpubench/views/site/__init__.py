"""The static site (``gpubench site``): the fleet's health, every regression and every case's history.

Plain HTML pages that work from ``file://`` with no network: one module per page kind
(``overview``, ``machine``, ``run``, ``case``, ``fleet``, ``verify``, ``feed``), the data they
share loaded once (``data``), the statuses of the overview (``status``), a case's series thinned
on the server (``decimate``), escaping and the page frame (``markup``), page paths (``paths``),
the shared scripts and styles (``assets``) and the build that writes only the pages that changed
(``build``). Every figure comes from the analysis layer (history, change points, fleet, the
nightly's marks); nothing is re-derived here. Method and figures: docs/site.md.
"""
