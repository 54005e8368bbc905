"""An MLP classifier on a toy three-class spiral, the way a course notebook writes it: a TensorDataset,
random_split into train/val, DataLoaders with shuffling, cross-entropy and Adam, accuracy per epoch.

Written for PyTorch; tests/port/test_port.py also runs it with the import lines switched to minitorch.
Run it alone with `python tests/port/mlp_classifier.py`."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset, random_split


def make_spirals(n_per_class=100, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for c in range(n_classes):
        r = np.linspace(0.05, 1.0, n_per_class)
        t = np.linspace(c * 4.0, (c + 1) * 4.0, n_per_class) + rng.normal(0, 0.2, n_per_class)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(n_per_class, c))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.int64)


class MLP(nn.Module):
    def __init__(self, n_in=2, hidden=64, n_classes=3):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(n_in, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x):
        return self.net(x)


def build_model():
    torch.manual_seed(0)
    return MLP()


def train(model, workdir=None, epochs=12, batch_size=32, lr=1e-2):
    device = torch.device("cuda" if torch.cuda.is_available() and False else "cpu")  # the comparison: CPU
    X, y = make_spirals()
    dataset = TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
    train_set, val_set = random_split(dataset, [0.8, 0.2], generator=torch.Generator().manual_seed(42))
    train_loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, drop_last=True,
                              generator=torch.Generator().manual_seed(0))
    val_loader = DataLoader(val_set, batch_size=64)
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    all_x, all_y = dataset.tensors
    full_losses, step_losses, val_acc = [], [], []
    for _ in range(epochs):
        model.train()
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device)
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step_losses.append(loss.item())
        model.eval()
        with torch.inference_mode():
            correct = 0
            for xb, yb in val_loader:
                correct += (model(xb).argmax(dim=1) == yb).sum().item()
            val_acc.append(correct / len(val_set))
            full_losses.append(F.cross_entropy(model(all_x), all_y).item())
    probs = F.softmax(model(all_x[:4]), dim=-1).detach()
    onehot = F.one_hot(all_y[:4], num_classes=3).float()
    return {"losses": full_losses, "step_losses": step_losses, "val_acc": val_acc,
            "sizes": (len(train_set), len(val_set), len(train_loader), len(val_loader)),
            "brier": ((probs - onehot) ** 2).sum(dim=1).mean().item()}


if __name__ == "__main__":
    result = train(build_model())
    print("loss per epoch:", [round(v, 4) for v in result["losses"]])
    print("val accuracy:", result["val_acc"])
