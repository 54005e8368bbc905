"""minitorch.checkpoint: exact resume (model + optimizer + scheduler + step + RNG), the generic
save/load, corrupt and truncated files, a model that does not fit, and a save interrupted mid-write."""
import os
import zipfile

import numpy as np
import pytest

import minitorch
from minitorch import checkpoint as C
from minitorch.nn import Module, Parameter
from minitorch.optim import SGD, AdamW, lr_scheduler


class _Layer(Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = Parameter(minitorch.randn(n_out, n_in, dtype=np.float64) * 0.3)
        self.bias = Parameter(minitorch.zeros(n_out, dtype=np.float64))

    def forward(self, x):
        return x @ self.weight.transpose(0, 1) + self.bias


class _Net(Module):
    def __init__(self, hidden=5):
        super().__init__()
        self.fc1 = _Layer(3, hidden)
        self.fc2 = _Layer(hidden, 2)

    def forward(self, x):
        return self.fc2(self.fc1(x).tanh())


def _setup(seed=1, hidden=5):
    minitorch.manual_seed(seed)
    model = _Net(hidden)
    opt = AdamW([{"params": [model.fc1.weight, model.fc2.weight]},
                 {"params": [model.fc1.bias, model.fc2.bias], "weight_decay": 0.0}], lr=0.02)
    sched = lr_scheduler.warmup_cosine(opt, warmup_iters=3, max_iters=12, min_lr=1e-3)
    return model, opt, sched


def _train(model, opt, sched, steps):
    """Steps that draw their data from minitorch's seeded generator (so the RNG state matters)."""
    for _ in range(steps):
        x = minitorch.randn(4, 3, dtype=np.float64)
        y = minitorch.randn(4, 2, dtype=np.float64)
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()
        sched.step()


def _params(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_round_trip_resumes_exactly(tmp_path):
    path = tmp_path / "run.ckpt"
    model, opt, sched = _setup()
    _train(model, opt, sched, 5)
    C.save_checkpoint(path, model=model, optimizer=opt, scheduler=sched, step=5,
                      extra={"config": {"lr": 0.02, "name": "tiny"}, "best_val": float("inf"), "history": (1, 2.5)})
    _train(model, opt, sched, 7)
    expected, expected_lr = _params(model), sched.get_last_lr()

    model2, opt2, sched2 = _setup(seed=99, hidden=5)  # other weights, other RNG position
    minitorch.randn(7)
    ckpt = C.load_checkpoint(path, model=model2, optimizer=opt2, scheduler=sched2)
    assert ckpt["step"] == 5
    assert ckpt["extra"] == {"config": {"lr": 0.02, "name": "tiny"}, "best_val": float("inf"), "history": (1, 2.5)}
    assert sched2.last_epoch == 5 and opt2.state[model2.fc1.weight]["step"] == 5
    assert opt2.param_groups[1]["weight_decay"] == 0.0
    _train(model2, opt2, sched2, 7)
    got = _params(model2)
    for k in expected:
        np.testing.assert_array_equal(got[k], expected[k], err_msg=k)
    assert sched2.get_last_lr() == expected_lr


def test_load_without_restoring_rng_and_returned_dict(tmp_path):
    path = tmp_path / "a.ckpt"
    model, opt, sched = _setup()
    C.save_checkpoint(path, model=model)
    after_save = minitorch.randn(3).numpy()
    ckpt = C.load_checkpoint(path, restore_rng=False)
    assert sorted(ckpt) == ["extra", "model", "optimizer", "rng", "scheduler", "step"]
    assert ckpt["optimizer"] is None and ckpt["step"] is None
    assert not np.array_equal(minitorch.randn(3).numpy(), after_save)
    C.load_checkpoint(path)
    np.testing.assert_array_equal(minitorch.randn(3).numpy(), after_save)
    for k, v in model.state_dict().items():
        assert isinstance(ckpt["model"][k], minitorch.Tensor)
        np.testing.assert_array_equal(ckpt["model"][k].numpy(), v.numpy())


def test_generic_save_load(tmp_path):
    path = tmp_path / "state.npz"
    p = Parameter(np.arange(6, dtype=np.float32).reshape(2, 3))
    obj = {
        "w": p,
        "plain": minitorch.tensor([1, 2, 3]),
        "arr": np.array([[True, False]]),
        "nested": {"list": [1, 2.5, "three", None, True, (4, "five")], "empty": {}, "scalar": np.float64(0.25)},
        7: "int key",
        (1, 2): [np.int64(3)],
        "nan": float("nan"),
    }
    C.save(obj, path)
    back = C.load(path)
    assert isinstance(back["w"], minitorch.Tensor) and back["w"].requires_grad and back["w"].dtype == np.float32
    np.testing.assert_array_equal(back["w"].detach().numpy(), p.detach().numpy())
    assert back["plain"].dtype == np.int64 and not back["plain"].requires_grad
    assert isinstance(back["arr"], np.ndarray) and back["arr"].dtype == np.bool_
    assert back["nested"] == {"list": [1, 2.5, "three", None, True, (4, "five")], "empty": {}, "scalar": 0.25}
    assert back[7] == "int key" and back[(1, 2)] == [3]
    assert np.isnan(back["nan"])
    with np.load(path, allow_pickle=False) as z:  # an ordinary npz, no pickle needed
        assert "__meta__" in z.files and "__integrity__" in z.files
    assert os.listdir(tmp_path) == ["state.npz"]


def test_tied_arrays_are_stored_once(tmp_path):
    shared = Parameter(np.ones((50, 40)))
    path = tmp_path / "tied.npz"
    C.save({"wte.weight": shared, "lm_head.weight": shared}, path)
    with np.load(path, allow_pickle=False) as z:
        assert len([f for f in z.files if not f.startswith("__")]) == 1
    back = C.load(path)
    np.testing.assert_array_equal(back["lm_head.weight"].detach().numpy(), 1.0)


def test_optimizer_state_dict_survives_the_file(tmp_path):
    model, opt, sched = _setup()
    _train(model, opt, sched, 3)
    C.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "o.npz")
    back = C.load(tmp_path / "o.npz")
    sd = opt.state_dict()
    assert back["opt"]["param_groups"] == sd["param_groups"]
    assert sorted(back["opt"]["state"]) == sorted(sd["state"]) == [0, 1, 2, 3]
    np.testing.assert_array_equal(back["opt"]["state"][2]["exp_avg_sq"].numpy(), sd["state"][2]["exp_avg_sq"].numpy())
    assert back["sched"] == sched.state_dict()


@pytest.mark.parametrize("make", [
    lambda opt: lr_scheduler.ReduceLROnPlateau(opt, patience=0, min_lr=[0.001, 0.0]),
    lambda opt: lr_scheduler.MultiStepLR(opt, [2, 2, 5]),
    lambda opt: lr_scheduler.SequentialLR(opt, [lr_scheduler.LinearLR(opt, 0.5, total_iters=2),
                                                lr_scheduler.CosineAnnealingLR(opt, 6)], milestones=[2]),
], ids=["plateau", "multistep", "sequential"])
def test_scheduler_states_survive_the_file(tmp_path, make):
    """Resuming from a file gives the lrs of an uninterrupted run (inf, Counter, nested schedulers)."""
    def run(sched, opt, steps):
        out = []
        for i in range(steps):
            opt.step()
            sched.step(1.0 / (1 + i % 3)) if isinstance(sched, lr_scheduler.ReduceLROnPlateau) else sched.step()
            out.append(sched.get_last_lr())
        return out

    model, _, _ = _setup()
    opt = SGD([{"params": [model.fc1.weight]}, {"params": [model.fc2.weight]}], lr=0.1)
    sched = make(opt)
    run(sched, opt, 3)
    C.save_checkpoint(tmp_path / "s.ckpt", optimizer=opt, scheduler=sched)
    expected = run(sched, opt, 6)
    model2, _, _ = _setup()
    opt2 = SGD([{"params": [model2.fc1.weight]}, {"params": [model2.fc2.weight]}], lr=0.1)
    sched2 = make(opt2)
    C.load_checkpoint(tmp_path / "s.ckpt", optimizer=opt2, scheduler=sched2)
    assert run(sched2, opt2, 6) == expected


def test_unsupported_objects_are_refused(tmp_path):
    with pytest.raises(TypeError, match=r"can't save builtins.function at the saved object\['extra'\]\['fn'\]"):
        C.save({"extra": {"fn": _params}}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="can't save an array of dtype object"):
        C.save({"a": np.array([{}, 1], dtype=object)}, tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


def _saved(tmp_path):
    path = tmp_path / "model.ckpt"
    model, opt, sched = _setup()
    C.save_checkpoint(path, model=model, optimizer=opt, scheduler=sched, step=3)
    return path, model


def test_truncated_file(tmp_path):
    path, _ = _saved(tmp_path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 100):
        path.write_bytes(data[:cut])
        with pytest.raises(C.CheckpointError, match=f"{path}: cannot read the checkpoint, the file is truncated"):
            C.load_checkpoint(path)


def test_corrupt_bytes(tmp_path):
    path, model = _saved(tmp_path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("a0.npy")
    extra_len = int.from_bytes(data[info.header_offset + 28:info.header_offset + 30], "little")
    start = info.header_offset + 30 + len(info.filename) + extra_len  # a0's .npy bytes
    pos = start + 128 + 3  # past the 128-byte .npy header: inside the array data
    assert pos < start + info.file_size
    data[pos] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(C.CheckpointError, match=f"{path}: cannot read the checkpoint, the file is truncated or "
                                                "corrupt"):
        C.load_checkpoint(path, model=model)


def test_consistent_zip_with_changed_contents_fails_the_sha256(tmp_path):
    """A member rewritten with a valid zip CRC still disagrees with the recorded sha256."""
    path, model = _saved(tmp_path)
    forged = tmp_path / "forged.ckpt"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(forged, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "a1.npy":
                data = data[:-8] + np.float64(123.0).tobytes()
            dst.writestr(info.filename, data)
    with pytest.raises(C.CheckpointError, match=f"{forged}: the checkpoint is corrupt: its contents"):
        C.load_checkpoint(forged, model=model)


def test_not_a_checkpoint(tmp_path):
    other = tmp_path / "other.npz"
    np.savez(other, x=np.ones(3))
    with pytest.raises(C.CheckpointError, match=f"{other}: not a minitorch checkpoint"):
        C.load(other)
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"hello, world" * 10)
    with pytest.raises(C.CheckpointError, match=f"{junk}: cannot read the checkpoint"):
        C.load(junk)
    plain = tmp_path / "plain.npz"
    C.save({"a": 1}, plain)
    with pytest.raises(C.CheckpointError, match=f"{plain}: not a training checkpoint"):
        C.load_checkpoint(plain)
    with pytest.raises(FileNotFoundError):
        C.load(tmp_path / "missing.ckpt")


def test_newer_format_version_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "future.ckpt"
    monkeypatch.setattr(C, "VERSION", 2)
    C.save({"a": 1}, path)
    monkeypatch.setattr(C, "VERSION", 1)
    with pytest.raises(C.CheckpointError, match=f"{path}: written in checkpoint format version 2"):
        C.load(path)


def test_wrong_model(tmp_path):
    path, model = _saved(tmp_path)
    bigger = _Net(hidden=6)
    expected = (rf"{path}: the checkpoint does not fit _Net: (.|\n)*size mismatch for fc1.weight: copying a param "
                rf"with shape \(5, 3\) from checkpoint, the shape in current model is \(6, 3\)")
    with pytest.raises(C.CheckpointError, match=expected):
        C.load_checkpoint(path, model=bigger)
    extra = _Net()
    extra.fc3 = _Layer(2, 2)
    with pytest.raises(C.CheckpointError, match=rf"{path}: (.|\n)*Missing key\(s\) in state_dict: \"fc3.weight\""):
        C.load_checkpoint(path, model=extra)
    fewer = _Net()
    del fewer.fc2
    with pytest.raises(C.CheckpointError, match=rf"{path}: (.|\n)*Unexpected key\(s\) in state_dict: \"fc2.weight\""):
        C.load_checkpoint(path, model=fewer)
    C.load_checkpoint(path, model=fewer, strict=False)  # unexpected keys are allowed when not strict
    np.testing.assert_array_equal(fewer.fc1.weight.detach().numpy(), model.fc1.weight.detach().numpy())
    with pytest.raises(C.CheckpointError, match="size mismatch for fc1.weight"):
        C.load_checkpoint(path, model=bigger, strict=False)  # shapes must always match
    model2, opt2, _ = _setup()
    opt_one_group = SGD(model2.parameters(), lr=0.1)
    with pytest.raises(C.CheckpointError, match=f"{path}: the optimizer state does not fit SGD: .*2 parameter group"):
        C.load_checkpoint(path, model=model2, optimizer=opt_one_group)


def test_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path, model = _saved(tmp_path)
    before = path.read_bytes()
    expected = _params(model)
    real_write = C._write_member
    calls = []

    def crash_after_two_members(*args):
        calls.append(args[1])
        if len(calls) > 2:
            raise KeyboardInterrupt("simulated crash in the middle of writing")
        return real_write(*args)

    monkeypatch.setattr(C, "_write_member", crash_after_two_members)
    model.fc1.weight.data[...] = 42.0
    with pytest.raises(KeyboardInterrupt):
        C.save_checkpoint(path, model=model, step=4)
    monkeypatch.undo()
    assert len(calls) == 3
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name]  # the temporary file is gone
    fresh = _Net()
    assert C.load_checkpoint(path, model=fresh)["step"] == 3
    for k, v in _params(fresh).items():
        np.testing.assert_array_equal(v, expected[k], err_msg=k)


def test_failed_rename_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path, _ = _saved(tmp_path)
    before = path.read_bytes()

    def no_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(C.os, "replace", no_replace)
    with pytest.raises(OSError, match="disk full"):
        C.save({"x": 1}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before and os.listdir(tmp_path) == [path.name]


def test_float32_model_and_map_location(tmp_path):
    minitorch.set_default_dtype(np.float32)
    layer = _Layer(2, 3)
    layer.to(minitorch.float32)
    path = tmp_path / "f32.ckpt"
    C.save_checkpoint(path, model=layer)
    ckpt = C.load_checkpoint(path, map_location="cpu")
    assert ckpt["model"]["weight"].dtype == np.float32 and ckpt["model"]["weight"].device == "cpu"
    other = _Layer(2, 3).to(minitorch.float32)
    C.load_checkpoint(path, model=other)
    assert other.weight.dtype == np.float32
    np.testing.assert_array_equal(other.weight.detach().numpy(), layer.weight.detach().numpy())


@pytest.mark.skipif(not minitorch.cupy_available(), reason="needs CuPy and a CUDA GPU")
def test_gpu_arrays_go_to_host_on_save_and_to_the_models_device_on_load(tmp_path):
    path = tmp_path / "gpu.ckpt"
    model, _, _ = _setup()
    model.to("cuda")
    opt = AdamW(model.parameters(), lr=0.01)
    for p in model.parameters():
        p.grad = minitorch.ones_like(p)
    opt.step()
    C.save_checkpoint(path, model=model, optimizer=opt, step=1)
    expected = {k: minitorch.backend.to_numpy(v.data) for k, v in model.state_dict().items()}
    on_cpu = _Net()
    C.load_checkpoint(path, model=on_cpu)
    on_gpu = _Net().to("cuda")
    opt_gpu = AdamW(on_gpu.parameters(), lr=0.01)
    C.load_checkpoint(path, model=on_gpu, optimizer=opt_gpu)
    for k, v in on_cpu.state_dict().items():
        assert v.device == "cpu"
        np.testing.assert_array_equal(v.numpy(), expected[k])
    for k, v in on_gpu.state_dict().items():
        assert v.device == "cuda"
        np.testing.assert_array_equal(minitorch.backend.to_numpy(v.data), expected[k])
    for state in opt_gpu.state.values():
        assert state["exp_avg"].device == "cuda" and state["step"] == 1
