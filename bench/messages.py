"""Benchmark: what it costs the data-parallel processes to hand each other a request and to meet at a barrier.

    python bench/messages.py                                  # 1000 rounds of each
    python bench/messages.py --out bench/results/pipe-latency-idle.txt

``DataParallel`` (minitorch/cli/parallel.py) sends every worker one request per training step and meets it at
three barriers. This measures the two ways of doing that, between this process and one worker, each round after
``--gap`` ms of busy work in both (as between two barriers of a step, when neither sleeps):

1. ``pipe``: the request pickled through a ``multiprocessing`` pipe, the worker polling it (``conn.poll()``), its
   answer back through the pipe: what ``DataParallel`` did for every request and barrier before it had mailboxes.
2. ``mailbox``: the request put in the worker's shared-memory mailbox and a barrier on the shared counters
   (``_Signals.post``, ``next_request``, ``arrive``, ``wait``): what ``train_step`` does now.

The request is a training step's (a (6, 64) batch of ids, the Adam arguments of 7 parameters). Reported: the
median time the sender spends sending, and the median round trip (the request sent until the worker's answer or
arrival is seen). Run it on an idle machine; the load average is printed before and after.
"""
import argparse
import multiprocessing
import os
import sys
import time

import _common  # bench/_common.py (the script's own folder is first on sys.path); import before NumPy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def _busy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _message():
    import numpy as np

    x = np.zeros((6, 64), dtype=np.int64)
    hyper = [dict(lr=1e-3, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.0, decoupled_weight_decay=True,
                  maximize=False, step=5) for _ in range(7)]
    return ("train", (x, x), ((0, 210160), [0.5, 0.5], hyper, 1.0), (1337, 5))


def _pipe_worker(conn, gap):
    from minitorch.cli.parallel import _recv

    while True:
        message = _recv(conn)
        if message is None:
            return
        _busy(gap)
        conn.send(("ok", 1.0))


def _mailbox_worker(conn, signals, gap):
    from minitorch.cli.parallel import _Stopped

    def alive():
        if conn.poll():
            raise _Stopped

    taken, count = 0, 0
    while True:
        try:
            (kind, *_), taken = signals.next_request(1, conn, taken)
        except (EOFError, _Stopped):
            return
        if kind == "stop":
            return
        _busy(gap)
        count += 1
        signals.arrive(1, count, alive)


def pipe_rounds(ctx, rounds, gap):
    import numpy as np

    mine, theirs = ctx.Pipe()
    worker = ctx.Process(target=_pipe_worker, args=(theirs, gap), daemon=True)
    worker.start()
    message, sends, trips = _message(), [], []
    mine.send(message)   # the worker's first request (it starts asleep)
    mine.recv()
    for _ in range(rounds):
        _busy(gap)
        t0 = time.perf_counter()
        mine.send(message)
        t1 = time.perf_counter()
        mine.recv()
        sends.append(t1 - t0)
        trips.append(time.perf_counter() - t0 - gap)
    mine.send(None)
    worker.join()
    return np.median(sends), np.median(trips)


def mailbox_rounds(ctx, rounds, gap):
    import pickle

    import numpy as np

    from minitorch.cli.parallel import _Signals

    signals = _Signals(ctx, 2)
    mine, theirs = ctx.Pipe()
    worker = ctx.Process(target=_mailbox_worker, args=(theirs, signals, gap), daemon=True)
    worker.start()

    def alive():
        if not worker.is_alive():
            raise RuntimeError("the worker stopped")

    message, sends, trips = _message(), [], []
    mine.send(message)   # the worker's first request comes through its pipe (it starts asleep)
    signals.arrive(0, 1, alive)
    signals.wait(1, alive)
    for i in range(rounds):
        _busy(gap)
        t0 = time.perf_counter()
        if not signals.post(1, pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL), alive):
            mine.send(message)  # the worker fell asleep (the machine was busy)
        t1 = time.perf_counter()
        signals.arrive(0, i + 2, alive)
        signals.wait(i + 2, alive)
        sends.append(t1 - t0)
        trips.append(time.perf_counter() - t0 - gap)
    mine.send(("stop", None, None, None))
    worker.join()
    return np.median(sends), np.median(trips)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=1000)
    p.add_argument("--gap", type=float, default=0.3, help="ms of busy work in each process before each round")
    p.add_argument("--out", default=None, help="also write the report here (refuses to overwrite)")
    args = p.parse_args(argv)
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    if args.gap < 0:
        p.error("--gap must not be negative")
    if args.out and os.path.exists(args.out):
        p.error(f"{args.out} exists; choose another --out (a report is never overwritten)")
    import numpy as np

    ctx = multiprocessing.get_context("spawn")
    gap = args.gap / 1e3
    lines = [f"bench/messages.py: {args.rounds} rounds each, {args.gap} ms of busy work before each; numpy "
             f"{np.__version__}, {sys.version.split()[0]}, {os.cpu_count()} CPUs; "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; code: {_common.code_version()}",
             "load average (1, 5, 15 min) before: " + _common.load_average()]
    for name, rounds in (("pipe", pipe_rounds), ("mailbox", mailbox_rounds)):
        send, trip = rounds(ctx, args.rounds, gap)
        lines.append(f"{name:8s} send {send * 1e6:7.1f} us   round trip {trip * 1e6:7.1f} us  (medians)")
    lines.append("load average after: " + _common.load_average())
    report = "\n".join(lines) + "\n"
    print(report, end="")
    if args.out:
        with open(args.out, "x", encoding="utf-8") as fh:
            fh.write(report)


if __name__ == "__main__":
    main()
