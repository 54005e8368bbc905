"""A training loop with the usual production pieces: gradient clipping (clip_grad_norm_), a warmup +
cosine learning-rate schedule (SequentialLR of LinearLR and CosineAnnealingLR), and a checkpoint saved
with torch.save half-way, loaded with torch.load into a fresh model, optimizer and scheduler, and
training resumed from it. The model is a small residual MLP regressor with LayerNorm and GELU.

Written for PyTorch; tests/port/test_port.py also runs it with the import lines switched to minitorch.
Run it alone with `python tests/port/train_loop_checkpoint.py`."""
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)


class ResidualBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 2 * dim)
        self.fc2 = nn.Linear(2 * dim, dim)

    def forward(self, x):
        return x + self.fc2(F.gelu(self.fc1(self.norm(x))))


class Regressor(nn.Module):
    def __init__(self, n_in=6, dim=32, n_out=2, depth=2):
        super().__init__()
        self.inp = nn.Linear(n_in, dim)
        self.blocks = nn.Sequential(*[ResidualBlock(dim) for _ in range(depth)])
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, n_out))

    def forward(self, x):
        return self.head(self.blocks(self.inp(x)))


def build_model():
    torch.manual_seed(0)
    return Regressor()


def make_optimizer(model):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
    warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=4)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=16, eta_min=1e-3)
    scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, cosine], milestones=[4])
    return optimizer, scheduler


def make_data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    w = rng.normal(size=(6, 2)).astype(np.float32)
    y = np.tanh(x @ w) + 0.5 * np.sin(3 * x[:, :2]) + 0.05 * rng.normal(size=(n, 2)).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.float32))


def run_steps(model, optimizer, scheduler, x, y, steps, start, batch_size, log):
    for step in range(start, start + steps):
        i = (step * batch_size) % len(x)
        xb, yb = x[i:i + batch_size], y[i:i + batch_size]
        loss = F.mse_loss(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
        optimizer.step()
        scheduler.step()
        log["losses"].append(loss.item())
        log["grad_norms"].append(float(grad_norm))
        log["lrs"].append(scheduler.get_last_lr()[0])


def train(model, workdir=None, steps=20, batch_size=32):
    workdir = workdir or tempfile.mkdtemp()
    x, y = make_data()
    optimizer, scheduler = make_optimizer(model)
    log = {"losses": [], "grad_norms": [], "lrs": []}
    half = steps // 2
    run_steps(model, optimizer, scheduler, x, y, half, 0, batch_size, log)

    path = os.path.join(workdir, "ckpt.pt")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "step": half}, path)
    del model, optimizer, scheduler

    checkpoint = torch.load(path, weights_only=True)
    model = build_model()  # fresh weights, replaced by the checkpoint's
    model.load_state_dict(checkpoint["model"])
    optimizer, scheduler = make_optimizer(model)
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    run_steps(model, optimizer, scheduler, x, y, steps - half, checkpoint["step"], batch_size, log)

    with torch.no_grad():
        log["weight_norm"] = torch.linalg.vector_norm(
            torch.cat([p.flatten() for p in model.parameters()])).item()
        log["final_mse"] = F.mse_loss(model(x), y).item()
        log["max_err"] = (model(x) - y).norm(dim=1).max().item()
    return log


if __name__ == "__main__":
    result = train(build_model())
    print("losses:", [round(v, 4) for v in result["losses"]])
    print("lrs:", [round(v, 5) for v in result["lrs"]])
