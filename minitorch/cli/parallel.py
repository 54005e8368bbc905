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

Workers only compute gradients: the optimizer, its state, the schedule, checkpoints and logs live in the
main process, so a resumed run needs nothing from them. A worker that fails reports its error, which
the main process raises as a RuntimeError naming the worker. With dropout each worker draws its own
masks, from a generator seeded at every step from (the step's seed, its rank), so such runs are not bit-for-bit
those of ``--procs 1``, but a resumed run draws the masks the uninterrupted one would. Only parameters are kept in
step: a model whose buffers change while it trains (batch norm's running statistics) would drift apart in the
workers; the language models minitorch.train builds have none.
"""
import os
import pickle
import signal
import traceback

import numpy as np

from ..autograd import no_grad, tensor
from ..backend import manual_seed
from ..models.registry import lm_loss

_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class WorkerStopped(RuntimeError):
    """A data-parallel worker process ended without reporting an error (killed, or it failed while starting)."""


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
        self._spans, self._dtype = spans, dtype
        self._param_views = _views(np.frombuffer(self._param_raw, dtype=dtype), spans)
        self._grad_views = [_views(np.frombuffer(raw, dtype=dtype), spans) for raw in self._grad_raws]
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
                                args=(rank, theirs, self._param_raw, self._grad_raws[rank - 1], self._spans,
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
        """Copy the model's parameters into the shared buffer the workers read."""
        for view, p in zip(self._param_views, self.params):
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
            kind, value = self._conns[rank - 1].recv()
        except (EOFError, OSError):
            raise self._stopped(rank) from None
        if kind == "error":
            raise RuntimeError(f"data-parallel worker {rank} failed: {value}")
        return value

    def loss_and_grads(self, x, y, seed=None):
        """Training: the mean loss of the batch (x, y) (integer arrays (B, T)); the parameters' ``.grad`` hold its
        gradient, the row-weighted sum of every process's gradient. ``seed`` (a non-negative int or a tuple of
        them, e.g. (run seed, step)): each worker first seeds its generator from it and its rank, so its dropout
        masks depend on them alone; None: workers go on drawing from the generator seeded at their start."""
        x, y = np.asarray(x), np.asarray(y)
        slices = _ranges(x.shape[0], min(self.procs, x.shape[0]))  # no process without rows
        for rank, (a, b) in enumerate(slices[1:], start=1):
            self._send(rank, ("grad", x[a:b], y[a:b], seed))
        a, b = slices[0]
        results = [(b - a, _grad_loss(self.model, x[a:b], y[a:b]))]  # this process's rows, meanwhile
        results += [(hi - lo, self._reply(rank)) for rank, (lo, hi) in enumerate(slices[1:], start=1)]
        rows = [r for r, _ in results]
        n = sum(rows)
        even = len(set(rows)) == 1  # equal shares: sum the gradients, then scale once (no temporaries)
        for i, p in enumerate(self.params):
            if p.grad is None:
                p.grad = tensor(np.zeros(p.data.shape, dtype=p.data.dtype))
            g = p.grad.data
            if even:
                for views in self._grad_views[:len(rows) - 1]:
                    g += views[i]
                g *= g.dtype.type(1 / len(rows))
                continue
            g *= g.dtype.type(rows[0] / n)
            for r, views in zip(rows[1:], self._grad_views):
                g += views[i] * g.dtype.type(r / n)
        return sum(r * loss for r, (_, loss) in zip(rows, results)) / n

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
def _worker(rank, conn, param_raw, grad_raw, spans, dtype, seed):
    """A worker's loop: a replica whose parameters are views of the shared buffer. Messages are 4-tuples: it
    answers ("grad", x, y, step seed or None) with its loss (gradients into its shared buffer) and ("losses",
    [(x, y), ...], None, None) with each batch's forward-only loss; ("stop", ...) ends."""
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
        grads = _views(np.frombuffer(grad_raw, dtype=np.dtype(dtype)), spans)
        conn.send(("ready", None))
    except BaseException as err:  # noqa: BLE001 - reported to the main process
        _report(conn, err)
        return
    while True:
        try:
            kind, x, y, step_seed = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if kind == "stop":
            return
        try:
            if step_seed is not None:
                manual_seed(_rank_seed(step_seed, rank))
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


def _report(conn, err):
    last = traceback.extract_tb(err.__traceback__)[-1:] if err.__traceback__ else []
    where = f" (at {os.path.basename(last[0].filename)}:{last[0].lineno})" if last else ""
    try:
        conn.send(("error", f"{type(err).__name__}: {err}{where}"))
    except (OSError, ValueError):
        pass
