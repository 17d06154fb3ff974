"""How a case is measured: clocks, samples and their statistics, results, devices, worker processes."""
