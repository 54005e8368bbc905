"""Data parallelism over processes for training on the CPU (``python -m minitorch.train --procs N``).

NumPy runs every elementwise operation on one core; only the matrix products use more. With ``--procs N``
the training process starts N - 1 worker processes, each with a replica of the model and one BLAS thread,
and every batch is split by rows: each process computes the loss and gradients of its rows, the main
process averages the gradients (weighted by rows, so the result is the full batch's mean-loss gradient
up to float rounding), clips and steps the optimizer, and publishes the new parameters. Evaluation
batches are shared out whole between the processes. This is PyTorch's DistributedDataParallel, on one machine, with the
arrays passed through shared memory:

- parameters: one shared buffer written by the main process after each optimizer step; the workers'
  parameters are views of it (they never change them);
- gradients: one shared buffer per worker, written by the worker after its backward;
- requests and losses: small messages over a pipe per worker.

With Adam or AdamW (``step``), the update after the backward is sharded too, as ZeRO's stage 1 does it: each
process averages the gradients of one contiguous piece of the flat parameter vector, the pieces' squared norms
make the clipping norm, and each process applies the clipping and the optimizer's update rule
(``minitorch.kernels.optim.adam_step``, elementwise) to its piece. The main process's parameters, gradients and
optimizer state are then views of shared buffers, so the state a checkpoint saves is the whole state; the
schedule, the step counts, checkpoints and logs stay in the main process, so a resumed run needs nothing from the
workers. Other optimizers step in the main process, which then publishes the parameters.

A worker that fails reports its error, which the main process raises as a RuntimeError naming the worker. With
dropout each worker draws its own masks, from a generator seeded at every step from (the step's seed, its rank), so
such runs are not bit-for-bit those of ``--procs 1``, but a resumed run draws the masks the uninterrupted one would.
Only parameters are kept in step: a model whose buffers change while it trains (batch norm's running statistics)
would drift apart in the workers; the language models minitorch.train builds have none.
"""
import os
import pickle
import signal
import time
import traceback

import numpy as np

from ..autograd import Tensor, no_grad, tensor
from ..backend import manual_seed
from ..kernels import optim as K
from ..models.registry import lm_loss
from ..optim import Adam

_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class WorkerStopped(RuntimeError):
    """A data-parallel worker process ended without reporting an error (killed, or it failed while starting)."""


# A process that waits for a message polls its pipe this long before it sleeps in recv(): the messages of a step
# come within a millisecond of each other, and waking what sleeps is slow on a virtual machine (a round trip to a
# sleeping thread took 76 us on ours, bench/results/gelu-two-threads-idle.txt).
_SPIN_S = 0.002


def _recv(conn, spin=_SPIN_S):
    """``conn.recv()``, polling the pipe for ``spin`` seconds first."""
    end = time.perf_counter() + spin
    while not conn.poll() and time.perf_counter() < end:
        pass
    return conn.recv()


def _layout(params):
    """[(offset, size, shape)] of each parameter in a flat buffer, and the total size."""
    spans, offset = [], 0
    for p in params:
        spans.append((offset, p.data.size, p.data.shape))
        offset += p.data.size
    return spans, offset


def _ranges(n, parts):
    """``range(n)`` cut into ``parts`` contiguous (start, stop) pieces, as even as possible (the first ones longer)."""
    size, extra = divmod(n, parts)
    bounds = [i * size + min(i, extra) for i in range(parts + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def _views(flat, spans):
    return [flat[o:o + n].reshape(shape) for o, n, shape in spans]


class DataParallel:
    """``procs`` processes (this one and ``procs - 1`` workers) computing a model's loss on row slices of each
    batch. ``loss_and_grads(x, y)`` leaves the full batch's gradients in the parameters' ``.grad`` and returns
    its loss; ``losses(batches)`` are the forward-only (evaluation) losses of whole batches; ``publish()`` sends
    the current parameters to the workers (after every optimizer step); ``close()`` stops them (also on ``with``
    exit)."""

    def __init__(self, model, procs, seed=0, threads=1):
        if procs < 2:
            raise ValueError(f"DataParallel needs at least 2 processes, got {procs}")
        self.model, self.procs = model, procs
        self.params = list(model.parameters())
        dtype = self.params[0].data.dtype
        spans, total = _layout(self.params)
        import multiprocessing  # noqa: PLC0415 - here: importing it on Windows needs _winapi, which only --procs > 1 uses

        ctx = multiprocessing.get_context("spawn")
        self._param_raw = ctx.RawArray("b", total * dtype.itemsize)
        self._grad_raws = [ctx.RawArray("b", total * dtype.itemsize) for _ in range(procs - 1)]
        # for ``step``: this process's gradients, and Adam's exp_avg and exp_avg_sq, all flat like the parameters
        self._shard_raws = [ctx.RawArray("b", total * dtype.itemsize) for _ in range(3)]
        self._spans, self._dtype = spans, dtype
        self._param_views = _views(np.frombuffer(self._param_raw, dtype=dtype), spans)
        self._flat = _Flat(self._param_raw, self._shard_raws, self._grad_raws, spans, dtype)
        self._shards = _ranges(total, procs)
        self._rows = None  # the row shares of the last loss_and_grads(average=False)
        self.publish()
        self._workers, self._conns = [], []
        try:
            self._start(ctx, pickle.dumps(model), seed, threads)
        except BaseException:
            self.close()
            raise

    def _start(self, ctx, model_bytes, seed, threads):
        saved = {k: os.environ.get(k) for k in _THREAD_VARS}
        os.environ.update({k: str(threads) for k in _THREAD_VARS})  # read by each worker's BLAS as it loads
        try:
            for rank in range(1, self.procs):
                mine, theirs = ctx.Pipe()
                w = ctx.Process(target=_worker, name=f"minitorch-dp-{rank}", daemon=True,
                                args=(rank, theirs, self._param_raw, self._shard_raws, self._grad_raws, self._spans,
                                      self._dtype.str, seed))
                w.start()
                theirs.close()
                self._workers.append(w)
                self._conns.append(mine)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        # The model goes through the pipe, not with the start: a worker that dies while it starts then breaks the
        # pipe (an error here), where multiprocessing would wait forever to hand it a large argument.
        try:
            for rank in range(1, self.procs):
                self._send(rank, ("model", model_bytes, None, None))
            for rank in range(1, self.procs):
                self._reply(rank)  # "ready"
        except WorkerStopped as err:  # a worker that fails otherwise reports its own error
            raise WorkerStopped(f"{err} while starting; a script that trains with more than one process needs the "
                                "`if __name__ == \"__main__\":` guard (its workers import the script)") from None

    # ------------------------------------------------------------------ requests
    def publish(self):
        """Copy the model's parameters into the shared buffer the workers read (nothing to do for the parameters
        that ``step`` made views of it)."""
        for view, p in zip(self._param_views, self.params):
            if p.data is not view:
                view[...] = p.data

    def _stopped(self, rank):
        w = self._workers[rank - 1]
        w.join(timeout=1)
        return WorkerStopped(f"data-parallel worker {rank} stopped (exit code {w.exitcode})")

    def _send(self, rank, message):
        try:
            self._conns[rank - 1].send(message)
        except OSError:
            raise self._stopped(rank) from None

    def _reply(self, rank):
        try:
            kind, value = _recv(self._conns[rank - 1])
        except (EOFError, OSError):
            raise self._stopped(rank) from None
        if kind == "error":
            raise RuntimeError(f"data-parallel worker {rank} failed: {value}")
        return value

    def loss_and_grads(self, x, y, seed=None, average=True):
        """Training: the mean loss of the batch (x, y) (integer arrays (B, T)); the parameters' ``.grad`` hold its
        gradient, the row-weighted sum of every process's gradient. ``seed`` (a non-negative int or a tuple of
        them, e.g. (run seed, step)): each worker first seeds its generator from it and its rank, so its dropout
        masks depend on them alone; None: workers go on drawing from the generator seeded at their start.
        ``average=False``: leave the gradients where they are, for ``step`` to average (``.grad`` is then not the
        batch's gradient)."""
        x, y = np.asarray(x), np.asarray(y)
        slices = _ranges(x.shape[0], min(self.procs, x.shape[0]))  # no process without rows
        for rank, (a, b) in enumerate(slices[1:], start=1):
            self._send(rank, ("grad", x[a:b], y[a:b], seed))
        a, b = slices[0]
        results = [(b - a, _grad_loss(self.model, x[a:b], y[a:b]))]  # this process's rows, meanwhile
        results += [(hi - lo, self._reply(rank)) for rank, (lo, hi) in enumerate(slices[1:], start=1)]
        rows = [r for r, _ in results]
        for p, g in zip(self.params, self._flat.own_grads):  # this process's gradients, where the others are
            g[...] = 0 if p.grad is None else p.grad.data
        if average:
            self._flat.average((0, self._flat.grad.size), _weights(rows))
            for p, g in zip(self.params, self._flat.own_grads):
                p.grad = tensor(g)
        else:
            self._rows = rows
        return sum(r * loss for r, (_, loss) in zip(rows, results)) / sum(rows)

    # ------------------------------------------------------------------ the sharded optimizer step
    def shardable(self, optimizer):
        """Whether ``step`` can run ``optimizer``: an Adam or AdamW (without amsgrad) over exactly this model's
        parameters."""
        if not isinstance(optimizer, Adam) or type(optimizer)._update_group is not Adam._update_group:
            return False
        params = [p for g in optimizer.param_groups for p in g["params"]]
        return (not any(g["amsgrad"] for g in optimizer.param_groups) and len(params) == len(self.params)
                and {id(p) for p in params} == {id(p) for p in self.params})

    def step(self, optimizer, max_norm=0.0):
        """After ``loss_and_grads(..., average=False)``: average the gradients, clip them to the total norm
        ``max_norm`` (0: no clipping) as ``clip_grad_norm_`` does, and take ``optimizer``'s step (an Adam or AdamW,
        see ``shardable``), each process on its piece of the flat parameter vector. The parameters, their
        ``.grad`` (the averaged, clipped gradient) and the optimizer's state are left as views of shared buffers;
        nothing needs publishing."""
        if self._rows is None:
            raise RuntimeError("DataParallel.step: call loss_and_grads(..., average=False) first")
        weights, self._rows = _weights(self._rows), None
        self._bind(optimizer)
        for rank in range(1, self.procs):
            self._send(rank, ("reduce", self._shards[rank], weights, None))
        sumsq = [self._flat.reduce(self._shards[0], weights)]
        sumsq += [self._reply(rank) for rank in range(1, self.procs)]
        clip = None
        if max_norm > 0:  # the total norm from the pieces' squared norms, in the gradients' dtype
            total = np.sqrt(np.sum(np.asarray(sumsq, dtype=self._dtype), dtype=self._dtype))
            clip = (float(max_norm), total)
        hyper = _adam_hyper(optimizer, self.params)
        for rank in range(1, self.procs):
            self._send(rank, ("update", self._shards[rank], hyper, clip))
        self._flat.update(self._shards[0], hyper, clip)
        for rank in range(1, self.procs):
            self._reply(rank)

    def _bind(self, optimizer):
        """Make the parameters, their gradients and ``optimizer``'s state views of the shared buffers (copying in
        what a checkpoint or a user put elsewhere); count the step as ``Optimizer.step`` does."""
        flat = self._flat
        for i, p in enumerate(self.params):
            if p.data is not self._param_views[i]:
                self._param_views[i][...] = p.data
                p.data = self._param_views[i]
            p.grad = Tensor._make(flat.own_grads[i])
            state = optimizer.state[p]
            for key, views in (("exp_avg", flat.exp_avg), ("exp_avg_sq", flat.exp_avg_sq)):
                held = state.get(key)  # None before the first step: Adam's zeros
                if held is None or held.data is not views[i]:
                    views[i][...] = 0 if held is None else held.data
                    state[key] = Tensor._make(views[i])
            state["step"] = state.get("step", 0) + 1
        optimizer._step_count += 1

    def losses(self, batches):
        """Evaluation of many batches: [loss of each (x, y) in ``batches``], in order, each batch whole in one
        process (a contiguous share per process: fewer messages than splitting every batch)."""
        batches = [(np.asarray(x), np.asarray(y)) for x, y in batches]
        shares = _ranges(len(batches), self.procs)
        for rank, (a, b) in enumerate(shares[1:], start=1):
            self._send(rank, ("losses", batches[a:b], None, None))
        a, b = shares[0]
        out = [_eval_loss(self.model, x, y) for x, y in batches[a:b]]
        for rank in range(1, self.procs):
            out += self._reply(rank)
        return out

    def close(self):
        for conn in self._conns:
            try:
                conn.send(("stop", None, None, None))
            except (OSError, ValueError):
                pass
        for w in self._workers:
            w.join(timeout=5)
            if w.is_alive():
                w.terminate()
                w.join()
        for conn in self._conns:
            conn.close()
        self._workers, self._conns = [], []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------- the worker process
def _worker(rank, conn, param_raw, shard_raws, grad_raws, spans, dtype, seed):
    """A worker's loop: a replica whose parameters are views of the shared buffer. Messages are 4-tuples: it
    answers ("grad", x, y, step seed or None) with its loss (gradients into its shared buffer), ("losses",
    [(x, y), ...], None, None) with each batch's forward-only loss, and ``step``'s ("reduce", piece, weights,
    None) with the squared norm of its piece of the averaged gradient and ("update", piece, hyper, clip) with
    None once its piece is updated; ("stop", ...) ends."""
    try:
        # Ctrl-C reaches every process of the terminal's group: the main process finishes the step under way and
        # stops the workers, which must not quit under it first.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        manual_seed(seed + 1009 * rank)  # its own dropout masks
        _, model_bytes, _, _ = conn.recv()
        model = pickle.loads(model_bytes)
        params = list(model.parameters())
        for p, view in zip(params, _views(np.frombuffer(param_raw, dtype=np.dtype(dtype)), spans)):
            p.data = view
        grads = _views(np.frombuffer(grad_raws[rank - 1], dtype=np.dtype(dtype)), spans)
        flat = _Flat(param_raw, shard_raws, grad_raws, spans, np.dtype(dtype))
        conn.send(("ready", None))
    except BaseException as err:  # noqa: BLE001 - reported to the main process
        _report(conn, err)
        return
    while True:
        try:
            kind, x, y, step_seed = _recv(conn)
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if kind == "stop":
            return
        try:
            if kind == "grad" and step_seed is not None:
                manual_seed(_rank_seed(step_seed, rank))
            if kind == "reduce":
                conn.send(("ok", flat.reduce(x, y)))
            elif kind == "update":
                conn.send(("ok", flat.update(x, y, step_seed)))
            else:
                conn.send(("ok", _answer(model, params, grads, kind, x, y)))
        except KeyboardInterrupt:
            return
        except BaseException as err:  # noqa: BLE001 - reported to the main process
            _report(conn, err)
            return


def _rank_seed(seed, rank):
    """One generator seed from ``seed`` (an int or a tuple of ints) and a worker's rank."""
    entropy = [*seed, rank] if isinstance(seed, tuple) else [seed, rank]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def _eval_loss(model, x, y):
    model.eval()
    with no_grad():
        return lm_loss(model, tensor(x), tensor(y)).item()


def _grad_loss(model, x, y):
    """The training loss of rows (x, y), its gradients left in the parameters' ``.grad`` (fresh ones)."""
    model.train()
    for p in model.parameters():
        p.grad = None
    loss = lm_loss(model, tensor(x), tensor(y))
    loss.backward()
    return loss.item()


def _answer(model, params, grads, kind, x, y):
    if kind == "losses":
        return [_eval_loss(model, bx, by) for bx, by in x]
    loss = _grad_loss(model, x, y)
    for p, g in zip(params, grads):
        if p.grad is None:
            g[...] = 0
        else:
            g[...] = p.grad.data
    return loss


class _Flat:
    """The flat shared buffers of ``DataParallel.step``, as seen by one process: the parameters, this (main)
    process's gradients, Adam's exp_avg and exp_avg_sq, and each worker's gradients, all laid out by ``spans``."""

    def __init__(self, param_raw, shard_raws, grad_raws, spans, dtype):
        self.spans = spans
        self.param, own, m, v = (np.frombuffer(raw, dtype=dtype) for raw in (param_raw, *shard_raws))
        self.grad, self.m, self.v = own, m, v
        self.worker_grads = [np.frombuffer(raw, dtype=dtype) for raw in grad_raws]
        self.own_grads, self.exp_avg, self.exp_avg_sq = (_views(a, spans) for a in (own, m, v))

    def average(self, piece, weights):
        """Average the gradients of the flat range ``piece`` = (a, b) into this process's gradient buffer, with
        the row ``weights`` of this process and of the first workers; returns that range of the buffer."""
        a, b = piece
        g = self.grad[a:b]
        if len(set(weights)) == 1:  # equal shares: sum, then scale once (no temporaries)
            for w in self.worker_grads[:len(weights) - 1]:
                g += w[a:b]
            g *= g.dtype.type(weights[0])
        else:
            g *= g.dtype.type(weights[0])
            for weight, w in zip(weights[1:], self.worker_grads):
                g += w[a:b] * g.dtype.type(weight)
        return g

    def reduce(self, piece, weights):
        """``average`` the range ``piece``; returns the squared norm of the result, a Python float."""
        g = self.average(piece, weights)
        return float(np.vdot(g, g))

    def update(self, piece, hyper, clip):
        """Clip (``clip``: (max_norm, total norm) or None) and take the Adam step on the flat range ``piece``:
        ``hyper`` holds each parameter's keyword arguments of ``adam_step``."""
        a, b = piece
        if clip is not None:
            K.clip_grads_by_norm_([self.grad[a:b]], clip[0], clip[1])
        for (offset, size, _), kwargs in zip(self.spans, hyper):
            lo, hi = max(a, offset), min(b, offset + size)
            if lo < hi:
                K.adam_step(self.param[lo:hi], self.grad[lo:hi], self.m[lo:hi], self.v[lo:hi], None, **kwargs)


def _weights(rows):
    """Each process's share of the batch, rows / total; equal shares as one repeated 1 / count."""
    n = sum(rows)
    if len(set(rows)) == 1:
        return [1 / len(rows)] * len(rows)
    return [r / n for r in rows]


def _adam_hyper(optimizer, params):
    """``adam_step``'s keyword arguments for each of ``params`` (in order), from its group and state."""
    by_id = {}
    for group in optimizer.param_groups:
        beta1, beta2 = group["betas"]
        common = dict(lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"], weight_decay=group["weight_decay"],
                      decoupled_weight_decay=group["decoupled_weight_decay"], maximize=group["maximize"])
        for p in group["params"]:
            by_id[id(p)] = dict(common, step=optimizer.state[p]["step"])
    return [by_id[id(p)] for p in params]


def _report(conn, err):
    last = traceback.extract_tb(err.__traceback__)[-1:] if err.__traceback__ else []
    where = f" (at {os.path.basename(last[0].filename)}:{last[0].lineno})" if last else ""
    try:
        conn.send(("error", f"{type(err).__name__}: {err}{where}"))
    except (OSError, ValueError):
        pass
