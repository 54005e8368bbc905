"""Binary classification on two moons with a small MLP (BatchNorm1d, LeakyReLU, SiLU): a TensorDataset read
in order by a DataLoader, BCEWithLogitsLoss with pos_weight, SGD with momentum and a StepLR schedule, batches moved
with .to(device, non_blocking=True), predictions through sigmoid, and accuracy / precision per epoch.

Written for PyTorch; tests/port/test_port.py also runs it with the import lines switched to minitorch.
Run it alone with `python tests/port/binary_classifier.py`."""
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset


def two_moons(n=200, noise=0.15, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    upper = rng.random(n) < 0.4  # imbalanced: 40% positives
    x = np.where(upper[:, None], np.stack([np.cos(t), np.sin(t)], 1), np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1))
    x = x + rng.normal(0, noise, size=x.shape)
    return x.astype(np.float32), upper.astype(np.float32)


def build_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.LeakyReLU(0.1), nn.Linear(16, 16), nn.SiLU(),
                         nn.Linear(16, 1))


def train(model, workdir=None, epochs=8, batch_size=25):
    device = torch.device("cpu")
    x, y = two_moons()
    loader = DataLoader(TensorDataset(torch.tensor(x), torch.tensor(y).unsqueeze(1)), batch_size=batch_size)
    pos_weight = torch.tensor([(1 - y.mean()) / y.mean()])
    criterion = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    losses, accuracy, precision = [], [], []
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            loss = criterion(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
        model.eval()
        with torch.no_grad():
            probs = torch.sigmoid(model(torch.from_numpy(x))).squeeze(1)
            pred = (probs > 0.5).float()
            target = torch.from_numpy(y)
            accuracy.append((pred == target).float().mean().item())
            precision.append(((pred * target).sum() / pred.sum().clamp(min=1)).item())
    assert model(torch.zeros(3, 2)).shape == torch.Size([3, 1])
    return {"losses": losses, "accuracy": accuracy, "precision": precision, "lr": scheduler.get_last_lr()}


if __name__ == "__main__":
    result = train(build_model())
    print("losses:", [round(v, 3) for v in result["losses"]])
    print("accuracy:", result["accuracy"])
