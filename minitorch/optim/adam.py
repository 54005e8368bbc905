"""Adam and AdamW (torch.optim.Adam, torch.optim.AdamW), with amsgrad and maximize."""
from ..autograd import Tensor
from ..backend import get_array_module
from ..kernels import optim as K
from .optimizer import Optimizer, check_number


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
    maximize=False, decoupled_weight_decay=False)``.

    Weight decay is L2 (added to the gradient) unless ``decoupled_weight_decay`` (that is AdamW).
    The update rule is ``minitorch.kernels.optim.adam_step``; per-parameter state, as in torch:
    ``step`` (an int here), ``exp_avg``, ``exp_avg_sq`` and, with amsgrad, ``max_exp_avg_sq``."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 maximize=False, decoupled_weight_decay=False):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _check_group(self, group):
        name = type(self).__name__
        for key in ("lr", "eps", "weight_decay"):
            check_number(name, group, key)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        group["betas"] = tuple(betas)
        for i, b in enumerate(betas):
            check_number(name, {f"beta{i + 1}": b}, f"beta{i + 1}", high=1.0, high_open=True)

    def _update_group(self, group):
        beta1, beta2 = group["betas"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            xp = get_array_module(p.data)
            if not state:
                state["step"] = 0
                state["exp_avg"] = Tensor._make(xp.zeros_like(p.data))
                state["exp_avg_sq"] = Tensor._make(xp.zeros_like(p.data))
            if group["amsgrad"] and "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = Tensor._make(xp.zeros_like(p.data))
            state["step"] += 1
            K.adam_step(
                p.data, self._grad(p), state["exp_avg"].data, state["exp_avg_sq"].data,
                state["max_exp_avg_sq"].data if group["amsgrad"] else None, step=state["step"], lr=group["lr"],
                beta1=beta1, beta2=beta2, eps=group["eps"], weight_decay=group["weight_decay"],
                decoupled_weight_decay=group["decoupled_weight_decay"], maximize=group["maximize"],
            )


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
    maximize=False)``: Adam with decoupled weight decay, param *= 1 - lr * weight_decay first
    (Loshchilov & Hutter), exactly as torch.optim.AdamW."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, decoupled_weight_decay=True)

    def _check_group(self, group):
        super()._check_group(group)
        group["decoupled_weight_decay"] = True
