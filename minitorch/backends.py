"""``minitorch.backends``: what scripts ask ``torch.backends`` (``mps.is_available()``, cuDNN and TF32 flags).

minitorch has no MPS device and no cuDNN: the flags can be set, as scripts do, and change nothing."""


class _Flags:
    """A namespace of settable flags, with a readable repr."""

    def __init__(self, name, **flags):
        self._name = name
        self.__dict__.update(flags)

    def __repr__(self):
        flags = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if not k.startswith("_"))
        return f"minitorch.backends.{self._name}({flags})"


class _Mps(_Flags):
    @staticmethod
    def is_available():
        """False: minitorch runs on the CPU (NumPy) or an NVIDIA GPU (CuPy), not on Apple's MPS."""
        return False

    @staticmethod
    def is_built():
        return False


mps = _Mps("mps")
cudnn = _Flags("cudnn", enabled=True, benchmark=False, deterministic=False, allow_tf32=True)
cuda = _Flags("cuda", matmul=_Flags("cuda.matmul", allow_tf32=False))
