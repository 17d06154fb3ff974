"""PCIe link arithmetic: the theoretical one-direction bandwidth of a link (generation x width)."""

from __future__ import annotations

# PCIe per-lane, per-direction raw rate in GT/s, by generation; 128b/130b encoding from Gen3 on.
_PCIE_GT_PER_S = {1: 2.5, 2: 5.0, 3: 8.0, 4: 16.0, 5: 32.0, 6: 64.0}


def pcie_theoretical_gbps(generation: int | None, width: int | None) -> float | None:
    """Theoretical one-direction PCIe bandwidth in GB/s (10^9 bytes/s); None when unknown.

    Gen1/2 use 8b/10b encoding, Gen3-5 128b/130b; Gen6 (FLIT) is approximated as 128b/130b.
    """
    if not generation or not width or generation not in _PCIE_GT_PER_S:
        return None
    encoding = 8 / 10 if generation <= 2 else 128 / 130
    return _PCIE_GT_PER_S[generation] * width * encoding / 8
