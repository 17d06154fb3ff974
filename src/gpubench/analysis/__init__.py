"""What the stored figures mean: the verdict rules, comparisons, noise, baselines, history, fleet, change points."""
