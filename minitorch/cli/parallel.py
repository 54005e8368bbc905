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
- requests: through a mailbox in shared memory while the worker polls for its next one, else through a pipe per
  worker, which also carries the answers (losses); the sharded step's barriers, losses and squared norms: counters
  and numbers in shared memory (``_Signals``).

With Adam or AdamW (``train_step``), the update after the backward is sharded too, as ZeRO's stage 1 does it:
each process averages the gradients of one contiguous piece of the flat parameter vector, the pieces' squared
norms make the clipping norm, and each process applies the clipping and the optimizer's update rule
(``minitorch.kernels.optim.adam_step``, elementwise) to its piece. The main process's parameters, gradients and
optimizer state are then views of shared buffers, so the state a checkpoint saves is the whole state; the
schedule, the step counts, checkpoints and logs stay in the main process, so a resumed run needs nothing from the
workers. Other optimizers step in the main process, which then publishes the parameters. Such a step takes one
message per worker; its three barriers (gradients written, squared norms written, pieces updated) are counters in
shared memory that every process polls, written and read under a shared lock, which orders the writes before
them for the readers after them on any processor (a request through a pipe and its answer took 115 us on our virtual
machine, through shared memory 43 us: bench/results/pipe-latency-idle.txt).

A worker that fails reports its error, which the main process raises as a RuntimeError naming the worker. With
dropout each worker draws its own masks, from a generator seeded at every step from (the step's seed, its rank), so
such runs are not bit-for-bit those of ``--procs 1``, but a resumed run draws the masks the uninterrupted one would.
Only parameters are kept in step: a model whose buffers change while it trains (batch norm's running statistics)
would drift apart in the workers; the language models minitorch.train builds have none.
"""
import functools
import os
import pickle
import signal
import time
import traceback

import numpy as np

from ..autograd import Tensor, no_grad, tensor
from ..backend import CACHE_LINE, aligned_bytes, manual_seed
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


# Bytes of each worker's mailbox for requests (``_Signals``): a preset's training request (a share of the batch and
# Adam's arguments) pickles to about 7 KB; larger requests (evaluation batches, big batches) take the pipe.
_MAIL_BYTES = 1 << 16


def _recv(conn, spin=_SPIN_S):
    """``conn.recv()``, polling the pipe for ``spin`` seconds first."""
    end = time.perf_counter() + spin
    while not conn.poll() and time.perf_counter() < end:
        pass
    return conn.recv()


# Parameters and shard boundaries in the flat buffers start at cache lines (multiples of CACHE_LINE bytes): with the
# lstm preset's pieces split evenly (the second 4 bytes past a line), the worker's Adam update took 0.13-0.20 ms
# longer than the main process's; aligned, the same (bench/results/dp-update-alignment-idle.txt).
def _line_items(dtype):
    """Items of ``dtype`` per cache line: the step of the aligned offsets in a flat buffer."""
    return max(1, CACHE_LINE // dtype.itemsize)


def _layout(params, dtype):
    """[(offset, size, shape)] of each parameter in a flat buffer of ``dtype``, offsets at cache lines (the gaps stay
    zero), and the total size."""
    step = _line_items(dtype)
    spans, offset = [], 0
    for p in params:
        spans.append((offset, p.data.size, p.data.shape))
        offset = -(-(offset + p.data.size) // step) * step
    return spans, offset


def _ranges(n, parts, align=1):
    """``range(n)`` cut into ``parts`` contiguous (start, stop) pieces, as even as possible (the first ones longer),
    with inner bounds at multiples of ``align``."""
    size, extra = divmod(n, parts)
    bounds = [min(n, -(-(i * size + min(i, extra)) // align) * align) for i in range(parts + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def _raw_flat(ctx, n, dtype):
    """Shared memory for a flat array of ``n`` items of ``dtype`` (``_flat``), with room to align its start."""
    return ctx.RawArray("b", n * dtype.itemsize + CACHE_LINE)


def _flat(raw, dtype):
    """The flat array in ``raw`` (``_raw_flat``), from its first address at a cache line: the same offset in every
    process (shared memory is mapped at page boundaries)."""
    whole = np.frombuffer(raw, dtype=np.uint8)
    n = (whole.size - CACHE_LINE) // dtype.itemsize
    return aligned_bytes(whole, n * dtype.itemsize).view(dtype)


def _views(flat, spans):
    return [flat[o:o + n].reshape(shape) for o, n, shape in spans]


def _request(method):
    """A ``DataParallel`` method that talks to the workers: refused after one that failed (an error in this process
    or a worker's, Ctrl-C), which can leave a reply or a barrier behind and the processes out of step."""
    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        if self._failed:
            raise RuntimeError(f"DataParallel: {self._failed}, which leaves its processes out of step; close it and "
                               "start another")
        try:
            return method(self, *args, **kwargs)
        except BaseException as err:
            self._failed = f"an earlier {method.__name__} failed ({type(err).__name__})"
            raise
    return guarded


class DataParallel:
    """``procs`` processes (this one and ``procs - 1`` workers) computing a model's loss on row slices of each
    batch. ``loss_and_grads(x, y)`` leaves the full batch's gradients in the parameters' ``.grad`` and returns
    its loss; ``losses(batches)`` are the forward-only (evaluation) losses of whole batches; ``publish()`` sends
    the current parameters to the workers (after every optimizer step); ``train_step(x, y, optimizer, max_norm)``
    is a whole step of Adam or AdamW, sharded; ``close()`` stops them (also on ``with`` exit). ``spin``: the
    seconds a worker polls for its next request before it sleeps in its pipe (tests set it)."""

    def __init__(self, model, procs, seed=0, threads=1, spin=_SPIN_S):
        if procs < 2:
            raise ValueError(f"DataParallel needs at least 2 processes, got {procs}")
        self.model, self.procs = model, procs
        self._failed = None  # why requests are refused (``_request``)
        self.params = list(model.parameters())
        dtype = self.params[0].data.dtype
        spans, total = _layout(self.params, dtype)
        import multiprocessing  # noqa: PLC0415 - here: importing it on Windows needs _winapi, which only --procs > 1 uses

        ctx = multiprocessing.get_context("spawn")
        self._param_raw = _raw_flat(ctx, total, dtype)
        self._grad_raws = [_raw_flat(ctx, total, dtype) for _ in range(procs - 1)]
        # for ``train_step``: this process's gradients, and Adam's exp_avg and exp_avg_sq, flat like the parameters
        self._shard_raws = [_raw_flat(ctx, total, dtype) for _ in range(3)]
        self._spans, self._dtype = spans, dtype
        self._flat = _Flat(self._param_raw, self._shard_raws, self._grad_raws, spans, dtype)
        self._param_views = _views(self._flat.param, spans)
        self._shards = _ranges(total, procs, align=_line_items(dtype))
        self._signals = _Signals(ctx, procs, spin)
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
                                      self._dtype.str, seed, self._signals))
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
                self._send(rank, ("model", model_bytes, None, None), pipe=True)
            for rank in range(1, self.procs):
                self._reply(rank)  # "ready"
        except WorkerStopped as err:  # a worker that fails otherwise reports its own error
            raise WorkerStopped(f"{err} while starting; a script that trains with more than one process needs the "
                                "`if __name__ == \"__main__\":` guard (its workers import the script)") from None

    # ------------------------------------------------------------------ requests
    def publish(self):
        """Copy the model's parameters into the shared buffer the workers read (nothing to do for the parameters
        that ``train_step`` made views of it)."""
        for view, p in zip(self._param_views, self.params):
            if p.data is not view:
                view[...] = p.data

    def _stopped(self, rank):
        w = self._workers[rank - 1]
        w.join(timeout=1)
        return WorkerStopped(f"data-parallel worker {rank} stopped (exit code {w.exitcode})")

    def _send(self, rank, message, pipe=False):
        """``message`` to worker ``rank``: through its mailbox where it can (not ``pipe``), else its pipe (pickled
        once either way: the pipe's ``recv`` unpickles what ``send_bytes`` sent)."""
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        if not pipe and self._signals.post(rank, data, self._alive):
            return
        try:
            self._conns[rank - 1].send_bytes(data)
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

    @_request
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
        _copy_grads(self.params, self._flat.own_grads)  # this process's gradients, where the others are
        self._flat.average((0, self._flat.grad.size), _weights(rows))
        for p, g in zip(self.params, self._flat.own_grads):
            p.grad = tensor(g)
        return sum(r * loss for r, (_, loss) in zip(rows, results)) / sum(rows)

    # ------------------------------------------------------------------ the sharded optimizer step
    def shardable(self, optimizer):
        """Whether ``train_step`` can run ``optimizer``: an Adam or AdamW (without amsgrad) over exactly this model's
        parameters."""
        if not isinstance(optimizer, Adam) or type(optimizer)._update_group is not Adam._update_group:
            return False
        params = [p for g in optimizer.param_groups for p in g["params"]]
        return (not any(g["amsgrad"] for g in optimizer.param_groups) and len(params) == len(self.params)
                and {id(p) for p in params} == {id(p) for p in self.params})

    @_request
    def train_step(self, x, y, optimizer, max_norm=0.0, seed=None):
        """One training step of the batch (x, y) (integer arrays (B, T)) with ``optimizer``, an Adam or AdamW (see
        ``shardable``): every process computes the loss and gradients of its rows, then averages the gradients of
        its piece of the flat parameter vector, clips them to the total norm ``max_norm`` (0: no clipping) as
        ``clip_grad_norm_`` does, and takes the optimizer's step on its piece. Returns the batch's mean loss.
        ``seed``: as in ``loss_and_grads``. The parameters, their ``.grad`` (the averaged, clipped gradient) and the
        optimizer's state are left as views of shared buffers; nothing needs publishing."""
        x, y = np.asarray(x), np.asarray(y)
        self._bind(optimizer)
        hyper = _adam_hyper(optimizer, self.params)
        slices = _ranges(x.shape[0], self.procs)  # with fewer rows than processes, the last ones get none
        rows = [b - a for a, b in slices]
        weights = _weights(rows)
        for rank, (a, b) in enumerate(slices[1:], start=1):
            self._send(rank, ("train", (x[a:b], y[a:b]), (self._shards[rank], weights, hyper, max_norm), seed))
        a, b = slices[0]
        loss = _grad_loss(self.model, x[a:b], y[a:b])
        _copy_grads(self.params, self._flat.own_grads)
        signals = self._signals
        signals.loss[0] = loss
        _exchange(self._flat, signals, 0, self._shards[0], weights, hyper, max_norm, self._alive)
        signals.wait(signals.reached(0), self._alive)  # every piece updated: the next forward reads them all
        for p, g in zip(self.params, self._flat.own_grads):
            p.grad = Tensor._make(g)
        return sum(r * v for r, v in zip(rows, signals.loss.tolist()) if r) / sum(rows)

    def _alive(self):
        """Called while waiting at a barrier: raise what a worker reported, or that it stopped."""
        for rank, conn in enumerate(self._conns, start=1):
            if conn.poll():
                value = self._reply(rank)  # raises on "error" and on a closed pipe
                raise RuntimeError(f"data-parallel worker {rank} sent {value!r} during a training step")

    def _bind(self, optimizer):
        """Make the parameters and ``optimizer``'s state views of the shared buffers (copying in what a checkpoint or a
        user put elsewhere); count the step as ``Optimizer.step`` does."""
        flat = self._flat
        for i, p in enumerate(self.params):
            if p.data is not self._param_views[i]:
                self._param_views[i][...] = p.data
                p.data = self._param_views[i]
            state = optimizer.state[p]
            for key, views in (("exp_avg", flat.exp_avg), ("exp_avg_sq", flat.exp_avg_sq)):
                held = state.get(key)  # None before the first step: Adam's zeros
                if held is None or held.data is not views[i]:
                    views[i][...] = 0 if held is None else held.data
                    state[key] = Tensor._make(views[i])
            state["step"] = state.get("step", 0) + 1
        optimizer._step_count += 1

    @_request
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
def _worker(rank, conn, param_raw, shard_raws, grad_raws, spans, dtype, seed, signals):
    """A worker's loop: a replica whose parameters are views of the shared buffer. Messages are 4-tuples: it
    answers ("grad", x, y, step seed or None) with its loss (gradients into its shared buffer) and ("losses",
    [(x, y), ...], None, None) with each batch's forward-only loss; ("train", (x, y), (piece, weights, hyper,
    max_norm), step seed) is its part of ``train_step``, answered through ``signals``; ("stop", ...) ends."""
    try:
        # Ctrl-C reaches every process of the terminal's group: the main process finishes the step under way and
        # stops the workers, which must not quit under it first.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        manual_seed(seed + 1009 * rank)  # its own dropout masks
        _, model_bytes, _, _ = conn.recv()
        model = pickle.loads(model_bytes)
        params = list(model.parameters())
        flat = _Flat(param_raw, shard_raws, grad_raws, spans, np.dtype(dtype))
        for p, view in zip(params, _views(flat.param, spans)):
            p.data = view
        grads = _views(flat.worker_grads[rank - 1], spans)
        conn.send(("ready", None))
    except BaseException as err:  # noqa: BLE001 - reported to the main process
        _report(conn, err)
        return

    def alive():  # while waiting at a barrier: any message now means stop (the main process quits, or has gone)
        if conn.poll():
            raise _Stopped

    taken = 0  # requests taken from the mailbox
    while True:
        try:
            (kind, x, y, step_seed), taken = signals.next_request(rank, conn, taken)
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if kind == "stop":
            return
        try:
            if kind in ("grad", "train") and step_seed is not None:
                manual_seed(_rank_seed(step_seed, rank))
            if kind == "train":
                _train_piece(model, params, grads, flat, signals, rank, x, y, alive)
            else:
                conn.send(("ok", _answer(model, params, grads, kind, x, y)))
        except (KeyboardInterrupt, _Stopped):
            return
        except BaseException as err:  # noqa: BLE001 - reported to the main process
            _report(conn, err)
            return


class _Stopped(Exception):
    """A worker was told to stop (or lost the main process) while it waited at a barrier."""


def _train_piece(model, params, grads, flat, signals, rank, batch, update, alive):
    """A worker's part of ``train_step``: the loss and gradients of its rows (zeros when it has none), then
    ``_exchange``."""
    (x, y), (piece, weights, hyper, max_norm) = batch, update
    if x.shape[0]:
        signals.loss[rank] = _grad_loss(model, x, y)
        _copy_grads(params, grads)
    else:
        signals.loss[rank] = 0.0
        for g in grads:
            g[...] = 0
    _exchange(flat, signals, rank, piece, weights, hyper, max_norm, alive)


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
    _copy_grads(params, grads)
    return loss


def _copy_grads(params, grads):
    """Each parameter's ``.grad`` into its view in a flat buffer (zeros for a parameter without one)."""
    for p, g in zip(params, grads):
        if p.grad is None:
            g[...] = 0
        else:
            g[...] = p.grad.data


def _exchange(flat, signals, rank, piece, weights, hyper, max_norm, alive):
    """Process ``rank``'s part of ``train_step`` once its gradients (and loss) are in its buffer: three barriers.
    1. all gradients written: average this process's ``piece`` of them, and write its squared norm;
    2. all squared norms written: the total norm (the same sum in every process), clip and update the piece;
    3. (announced here; the main process waits for it) every piece updated."""
    start = signals.reached(rank)
    signals.arrive(rank, start + 1, alive)
    signals.wait(start + 1, alive)
    signals.sumsq[rank] = flat.reduce(piece, weights)
    signals.arrive(rank, start + 2, alive)
    signals.wait(start + 2, alive)
    clip = None
    if max_norm > 0:  # the total norm from the pieces' squared norms, in the gradients' dtype, in rank order
        dtype = flat.grad.dtype
        clip = (float(max_norm), np.sqrt(np.sum(signals.sumsq.astype(dtype), dtype=dtype)))
    flat.update(piece, hyper, clip)
    signals.arrive(rank, start + 3, alive)


class _Signals:
    """Shared memory between the processes, written and read under one lock that they share: its release and
    acquire order the writes a process made before it signalled (gradients, updated parameters, a request) before
    the reads the others make after they see the signal, on processors that reorder memory accesses too. Nobody
    sleeps on the lock (it is taken by polling; it is held for a few instructions).

    - ``train_step``'s barriers: ``count[r]``, how many barriers process r has reached (it only grows);
      ``loss[r]`` and ``sumsq[r]``, its rows' loss and its piece's squared gradient norm. A process waiting at
      a barrier polls for ``_SPIN_S`` (the others come within that), then sleeps 50 us between polls.
    - requests to worker r: a mailbox (``_MAIL_BYTES`` of pickled message) and a count of the requests put in it,
      used while the worker polls for its next request (``asleep[r]`` is 0; it polls for ``spin`` seconds). The
      pipe carries what does not fit, and wakes a worker that has gone to sleep in it."""

    def __init__(self, ctx, procs, spin=_SPIN_S):
        self.spin = spin
        self._lock = ctx.Lock()
        self._ints_raw, self._value_raw = ctx.RawArray("q", 4 * procs), ctx.RawArray("d", 2 * procs)
        self._mail_raw = ctx.RawArray("B", procs * _MAIL_BYTES)
        self._views()

    def _views(self):
        ints = np.frombuffer(self._ints_raw, dtype=np.int64).reshape(4, -1)
        self._count, self._sent, self._length, self._asleep = ints
        values = np.frombuffer(self._value_raw, dtype=np.float64)
        self.loss, self.sumsq = values[:len(self._count)], values[len(self._count):]
        self._mail = np.frombuffer(self._mail_raw, dtype=np.uint8).reshape(len(self._count), _MAIL_BYTES)

    def __getstate__(self):  # to a worker, at its start: the shared objects; the views are remade there
        return self.spin, self._lock, self._ints_raw, self._value_raw, self._mail_raw

    def __setstate__(self, state):
        self.spin, self._lock, self._ints_raw, self._value_raw, self._mail_raw = state
        self._views()

    def _acquire(self, alive):
        """Take the lock without sleeping (a sleeping acquire would wait for a wake-up). It is held for
        microseconds: after a millisecond, ``alive()`` is called every millisecond (the process holding it may have
        been killed; ``alive`` raises then)."""
        if self._lock.acquire(False):
            return
        check = time.perf_counter() + 0.001
        while not self._lock.acquire(False):
            now = time.perf_counter()
            if now >= check:
                alive()
                check = now + 0.001

    # ------------------------------------------------------------------ barriers
    def reached(self, rank):
        """The barriers process ``rank`` has reached (only it changes that number)."""
        return int(self._count[rank])

    def arrive(self, rank, n, alive):
        self._acquire(alive)
        try:
            self._count[rank] = n
        finally:
            self._lock.release()

    def wait(self, n, alive):
        """Until every process has reached barrier ``n``; ``alive()`` is called about every millisecond (it raises
        to stop waiting). Polls without the lock (a count seen late is seen at the next poll), then takes it once,
        which orders the reads after the wait after the writes made before the others arrived."""
        spin_end = check = time.perf_counter()
        spin_end += _SPIN_S
        while True:
            if self._count.min() >= n:
                self._acquire(alive)
                self._lock.release()
                return
            now = time.perf_counter()
            if now >= check:
                alive()
                check = now + 0.001
            if now >= spin_end:
                time.sleep(5e-5)

    # ------------------------------------------------------------------ requests
    def post(self, rank, data, alive):
        """Put the pickled request ``data`` in worker ``rank``'s mailbox; False (nothing done) when it does not fit
        or the worker sleeps in its pipe (then the pipe must carry it)."""
        if len(data) > _MAIL_BYTES:
            return False
        self._acquire(alive)
        try:
            if self._asleep[rank]:
                return False
            self._mail[rank, :len(data)] = np.frombuffer(data, dtype=np.uint8)
            self._length[rank] = len(data)
            self._sent[rank] += 1
            return True
        finally:
            self._lock.release()

    def next_request(self, rank, conn, seen):
        """Worker ``rank``'s next request, as (message, requests taken from the mailbox so far): from the mailbox
        (``seen``: how many it has taken) or the pipe, polled for ``spin`` seconds, then waited for in the pipe."""
        def alive():  # the lock held for long: its holder (the main process) was killed, or a stop is coming
            if conn.poll():
                raise _Stopped

        spin_end = check = time.perf_counter()
        spin_end += self.spin
        while True:
            now = time.perf_counter()
            if self._sent[rank] > seen or now >= spin_end:  # polled without the lock; then read under it
                self._acquire(alive)
                try:
                    data = self._mail[rank, :self._length[rank]].tobytes() if self._sent[rank] > seen else None
                    if data is None:
                        self._asleep[rank] = 1  # from here on requests come through the pipe, which wakes us
                finally:
                    self._lock.release()
                if data is None:
                    break
                return pickle.loads(data), seen + 1
            if now >= check:
                if conn.poll():
                    return conn.recv(), seen
                check = now + 0.001
        try:
            return conn.recv(), seen
        finally:
            self._acquire(alive)
            self._asleep[rank] = 0
            self._lock.release()


class _Flat:
    """The flat shared buffers of ``DataParallel.train_step``, as seen by one process: the parameters, this (main)
    process's gradients, Adam's exp_avg and exp_avg_sq, and each worker's gradients, all laid out by ``spans``."""

    def __init__(self, param_raw, shard_raws, grad_raws, spans, dtype):
        self.spans = spans
        self.param, own, m, v = (_flat(raw, dtype) for raw in (param_raw, *shard_raws))
        self.grad, self.m, self.v = own, m, v
        self.worker_grads = [_flat(raw, dtype) for raw in grad_raws]
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
        ``hyper`` holds each parameter's keyword arguments of ``adam_step``. Neighbouring parameters with the same
        arguments take one step together (elementwise: the same arithmetic, fewer calls)."""
        a, b = piece
        if clip is not None:
            K.clip_grads_by_norm_([self.grad[a:b]], clip[0], clip[1])
        runs = []  # [lo, hi, kwargs]: the piece cut where the arguments change
        for (offset, size, _), kwargs in zip(self.spans, hyper):
            lo, hi = max(a, offset), min(b, offset + size)
            if lo >= hi:
                continue
            if runs and runs[-1][1] == lo and runs[-1][2] == kwargs:
                runs[-1][1] = hi
            else:
                runs.append([lo, hi, kwargs])
        for lo, hi, kwargs in runs:
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
