"""How figures are shown: text and markdown tables, comparison/fleet/history text, reports, figures."""
