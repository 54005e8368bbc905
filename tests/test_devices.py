"""Devices: one clear error when the GPU is requested without CuPy/CUDA; on a machine with a GPU,
tensors, modules, optimizers and checkpoints move between 'cpu' and 'cuda' (skipped here, with the reason)."""
import numpy as np
import pytest

import minitorch
from minitorch import backend

needs_gpu = pytest.mark.skipif(not backend.cupy_available(), reason="needs CuPy and a CUDA GPU")
without_gpu = pytest.mark.skipif(backend.cupy_available(), reason="this machine has a usable GPU")


@without_gpu
@pytest.mark.parametrize("request_gpu", [
    lambda: minitorch.set_backend("cupy"),
    lambda: minitorch.zeros(2, 3, device="cuda"),
    lambda: minitorch.tensor([1.0, 2.0]).to("cuda"),
    lambda: minitorch.nn.Linear(2, 3).to("cuda"),
    lambda: minitorch.tensor([1.0], device="cuda:0"),
])
def test_gpu_request_without_cuda_is_one_clear_error(request_gpu):
    with pytest.raises(backend.BackendUnavailableError, match="CuPy and a CUDA GPU"):
        request_gpu()
    assert minitorch.get_backend() == "numpy"


def test_unknown_device_and_backend_names():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        minitorch.zeros(2, device="tpu")
    with pytest.raises(ValueError, match="unknown backend 'jax'"):
        minitorch.set_backend("jax")


def test_cpu_tensors_report_their_device():
    t = minitorch.randn(2, 2)
    assert t.device == "cpu" and t.to("cpu") is t and t.cpu() is t


@needs_gpu
def test_tensor_round_trip_and_mixed_device_error():
    a = minitorch.randn(3, 4, requires_grad=True)
    g = a.to("cuda")
    assert g.device == "cuda" and type(g.data).__module__.startswith("cupy")
    (g * 2).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.full((3, 4), 2.0))
    with pytest.raises(RuntimeError, match="cpu and cuda|cuda and cpu"):
        _ = g + minitorch.randn(3, 4)


@needs_gpu
def test_module_optimizer_checkpoint_on_gpu_load_on_cpu(tmp_path):
    from minitorch.checkpoint import load_checkpoint, save_checkpoint

    def mlp():
        nn = minitorch.nn
        return nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 2))

    model = mlp().to("cuda")
    opt = minitorch.optim.AdamW(model.parameters(), lr=1e-2)
    x = minitorch.randn(5, 4).to("cuda")
    for _ in range(3):
        opt.zero_grad()
        model(x).square().mean().backward()
        opt.step()
    path = tmp_path / "gpu.ckpt"
    save_checkpoint(path, model=model, optimizer=opt, step=3)
    cpu_model = mlp()
    load_checkpoint(path, model=cpu_model)
    for (name, p), q in zip(model.named_parameters(), cpu_model.parameters()):
        assert q.device == "cpu", name
        np.testing.assert_array_equal(backend.to_numpy(p.data), q.detach().numpy())
