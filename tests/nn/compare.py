"""``compare(ours, theirs, inputs, dtype)``: one of our modules against its torch twin with the same
weights (torch's state_dict loaded into ours): outputs, input gradients and every parameter gradient
under the same random upstream gradient; state_dict keys and repr must also be torch's."""
import numpy as np
import torch

import minitorch
from tests.helpers import TOL

DTYPES = [np.float32, np.float64]
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


def _randomize(tmod, seed):
    """Give torch's module non-default parameters (e.g. LayerNorm's ones/zeros would hide bugs)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in tmod.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype))


def compare(ours, theirs, inputs, dtype, randomize=True, seed=0, train=False, atol=None):
    """Run both modules on ``inputs`` (NumPy arrays; floating ones are cast to ``dtype`` and get
    gradients), backpropagate the same random upstream gradient and compare everything."""
    tdt = TORCH_DTYPE[dtype]
    theirs = theirs.to(tdt)
    if randomize:
        _randomize(theirs, seed)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    ours.to(dtype)
    ours.load_state_dict(theirs.state_dict())
    ours.train(train)
    theirs.train(train)
    m_in, t_in = [], []
    for a in inputs:
        if a.dtype.kind == "f":
            a = a.astype(dtype)
            m_in.append(minitorch.tensor(a, requires_grad=True))
            t_in.append(torch.tensor(a, requires_grad=True))
        else:
            m_in.append(minitorch.tensor(a))
            t_in.append(torch.tensor(a))
    out = ours(*m_in)
    tout = theirs(*t_in)
    tol = dict(TOL[np.dtype(dtype)])
    if atol is not None:
        tol["atol"] = atol
    assert out.dtype == dtype
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), **tol, err_msg="output")
    g = np.random.default_rng(seed + 1).standard_normal(tout.shape).astype(dtype)
    if not tout.requires_grad:
        assert not out.requires_grad
        return out
    out.backward(minitorch.tensor(g))
    tout.backward(torch.tensor(g))
    for i, (m, t) in enumerate(zip(m_in, t_in)):
        if t.requires_grad:
            assert m.grad is not None and m.grad.dtype == dtype, f"input {i} grad"
            np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), **tol, err_msg=f"grad of input {i}")
    tparams = dict(theirs.named_parameters())
    mparams = dict(ours.named_parameters())
    assert list(mparams) == list(tparams)
    for name, tp in tparams.items():
        mp = mparams[name]
        if tp.grad is None:
            assert mp.grad is None or not mp.grad.numpy().any(), name
            continue
        assert mp.grad is not None and mp.grad.dtype == dtype, name
        np.testing.assert_allclose(mp.grad.numpy(), tp.grad.numpy(), **tol, err_msg=f"grad of {name}")
    return out


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)
