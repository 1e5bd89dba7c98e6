"""STAND-IN for torch.version."""
cuda = "12.8"
