"""Run a PyTorch program as written, and again with only its import lines switched to minitorch.

A port program (``tests/port/<name>.py``) is plain PyTorch with two entry points:

- ``build_model()`` returns the freshly initialised model;
- ``train(model, workdir)`` trains it and returns a dict of results, with ``"losses"``, the loss of every
  step, as Python floats.

``port_source`` rewrites the import lines, and nothing else: ``import torch`` becomes
``import minitorch as torch`` and, on any other line that starts with ``import torch`` or ``from torch``,
the module path ``torch`` becomes ``minitorch`` (``import torch.nn as nn`` -> ``import minitorch.nn as nn``).
``run_both`` builds the torch model, copies its initial ``state_dict`` into the minitorch model
(through NumPy, with ``strict=True``: the parameter and buffer names must be torch's), trains both on the
same data, and returns the two result dicts.
"""
import re
import types
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
_IMPORT = re.compile(r"^(\s*)(import|from)\s+torch(\.|\s|$)")


class PortError(AssertionError):
    """A program that can't be ported by rewriting its import lines."""


def port_source(src):
    """``src`` with its torch imports switched to minitorch; every other line is left as it is."""
    out = []
    for lineno, line in enumerate(src.splitlines(keepends=True), 1):
        m = _IMPORT.match(line)
        if not m:
            if re.search(r"^\s*(import|from)\s.*\btorch\b", line):
                raise PortError(f"line {lineno}: unsupported import form {line.strip()!r}")
            out.append(line)
            continue
        stripped = line.strip()
        if stripped == "import torch":
            out.append(f"{m.group(1)}import minitorch as torch" + line[len(line.rstrip("\r\n")):])
            continue
        if m.group(2) == "import" and " as " not in stripped:
            raise PortError(f"line {lineno}: {stripped!r} binds the name 'torch' to the top package; write "
                            "'import torch' and use torch.<sub>, or 'import torch.<sub> as <name>'")
        if "," in stripped and m.group(2) == "import":
            raise PortError(f"line {lineno}: import one module per line: {stripped!r}")
        out.append(re.sub(r"\btorch\b", "minitorch", line, count=1))
    return "".join(out)


def load_program(name, framework):
    """Execute ``tests/port/<name>.py`` as a fresh module, importing ``framework`` ('torch' or 'minitorch')."""
    path = HERE / f"{name}.py"
    src = path.read_text(encoding="utf-8")
    if framework == "minitorch":
        src = port_source(src)
    mod = types.ModuleType(f"port_{name}_{framework}")
    mod.__file__ = str(path)
    exec(compile(src, str(path), "exec"), mod.__dict__)  # noqa: S102 - our own test programs
    return mod


def state_to_numpy(model):
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def run_both(name, workdir, copy_init=True, perturb=None):
    """(torch results, minitorch results) of program ``name``, both runs starting from torch's initial weights.
    ``perturb(torch_model)``, when given, changes the torch weights in place before they are copied, and the
    torch run then trains an unperturbed model: the two runs should then disagree."""
    import torch

    import minitorch

    t_threads, m_threads = torch.get_num_threads(), minitorch.get_num_threads()
    try:  # programs may call torch.set_num_threads: keep the rest of the session as it was
        t_mod = load_program(name, "torch")
        m_mod = load_program(name, "minitorch")
        assert t_mod.torch is torch and m_mod.torch is minitorch
        t_model = t_mod.build_model()
        m_model = m_mod.build_model()
        if perturb is not None:  # for the test that shows a comparison can fail
            perturb(t_model)
        if copy_init:
            init = state_to_numpy(t_model)
            m_keys = list(m_model.state_dict())
            assert list(init) == m_keys, f"state_dict keys differ from torch's:\n{list(init)}\n{m_keys}"
            m_model.load_state_dict({k: minitorch.tensor(v) for k, v in init.items()}, strict=True)
        if perturb is not None:
            t_model = t_mod.build_model()  # build_model seeds torch: the same weights as before the perturbation
        (Path(workdir) / "torch").mkdir(parents=True, exist_ok=True)
        (Path(workdir) / "minitorch").mkdir(parents=True, exist_ok=True)
        t_res = t_mod.train(t_model, str(Path(workdir) / "torch"))
        m_res = m_mod.train(m_model, str(Path(workdir) / "minitorch"))
    finally:
        torch.set_num_threads(t_threads)
        minitorch.set_num_threads(m_threads)
    return t_res, m_res


def curve_error(a, b):
    """The largest relative difference between two loss curves (per step, relative to the torch value)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"curves of different lengths: {a.shape} vs {b.shape}"
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-8)))
