"""gpubench: does this PyTorch stack deliver what the GPU can? Copies, cuDNN convolution, AllReduce."""

__version__ = "0.1.0"
