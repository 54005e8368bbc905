"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (torch.optim.SGD)."""
from ..autograd import Tensor
from ..kernels import optim as K
from .optimizer import Optimizer, check_number


class SGD(Optimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False)``.

    The update rule is ``minitorch.kernels.optim.sgd_step``; per-parameter state is
    ``{"momentum_buffer": Tensor}`` once momentum is used, as in torch."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        for key in ("lr", "momentum", "weight_decay"):
            check_number("SGD", group, key)
        check_number("SGD", group, "dampening", high=1.0)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"SGD: Nesterov momentum requires a momentum > 0 and zero dampening, got momentum="
                f"{group['momentum']} and dampening={group['dampening']}"
            )

    def _update_group(self, group):
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            buf = state.get("momentum_buffer")
            new_buf = K.sgd_step(
                p.data, self._grad(p), None if buf is None else buf.data, lr=group["lr"],
                momentum=group["momentum"], dampening=group["dampening"], weight_decay=group["weight_decay"],
                nesterov=group["nesterov"], maximize=group["maximize"],
            )
            if group["momentum"] != 0 and buf is None:
                state["momentum_buffer"] = Tensor._make(new_buf)
