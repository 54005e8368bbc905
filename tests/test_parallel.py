"""Data-parallel training over processes (minitorch/cli/parallel.py, ``python -m minitorch.train --procs N``):
the same gradients, losses and runs as one process; worker failures reported; bad --procs values refused."""
import copy
import os
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import minitorch
from minitorch import tensor
from minitorch.checkpoint import load_checkpoint
from minitorch.cli import parallel
from minitorch.cli import train as train_cli
from minitorch.cli.parallel import DataParallel
from minitorch.models.registry import Config, build_model, lm_loss
from tests.test_cli import (  # noqa: F401 - fixtures: corpus, and the autouse ones of test_cli
    TINY,
    _no_tinyshakespeare,
    _restore_blas_threads,
    corpus,
    read_log,
    run_train,
    user_error,
)

VOCAB = 11
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_model(model="gpt"):
    minitorch.manual_seed(0)
    cfg = Config(model=model, n_layer=1, n_head=2, n_embd=16, hidden_size=24, block_size=8, dropout=0.0,
                 tie_weights=model == "gpt")
    return build_model(cfg, VOCAB)


def batch(rows, seed=0, t=8):
    rng = np.random.default_rng(seed)
    return rng.integers(0, VOCAB, (rows, t)), rng.integers(0, VOCAB, (rows, t))


def one_process(model, x, y):
    for p in model.parameters():
        p.grad = None
    loss = lm_loss(model, tensor(x), tensor(y))
    loss.backward()
    return loss.item(), [p.grad.data.copy() for p in model.parameters()]


def single_eval(model, x, y):
    model.eval()
    with minitorch.no_grad():
        return lm_loss(model, tensor(x), tensor(y)).item()


@pytest.mark.parametrize("model, rows, procs", [("gpt", 5, 2), ("lstm", 7, 3), ("gpt", 6, 3)])  # uneven, even shares
def test_gradients_and_losses_equal_one_process(model, rows, procs):
    m = tiny_model(model)
    x, y = batch(rows)
    loss1, grads1 = one_process(m, x, y)
    with minitorch.no_grad():
        m.eval()
        eval1 = lm_loss(m, tensor(x), tensor(y)).item()
    with DataParallel(m, procs) as dp:            # uneven splits: 3+2 rows, 3+2+2 rows
        for _ in range(2):                        # a second call starts from fresh gradients
            loss = dp.loss_and_grads(x, y)
            assert loss == pytest.approx(loss1, rel=1e-6)
            for g1, p in zip(grads1, m.parameters()):
                np.testing.assert_allclose(p.grad.data, g1, rtol=1e-4, atol=1e-6)
        assert dp.losses([(x, y)]) == pytest.approx([eval1], rel=1e-6)
        batches = [batch(rows, seed=s) for s in range(4)]
        assert dp.losses(batches) == pytest.approx([single_eval(m, *b) for b in batches], rel=1e-6)
        assert dp.losses(batches[:1]) == pytest.approx([single_eval(m, *batches[0])], rel=1e-6)  # idle workers
        for p in m.parameters():                  # the workers see parameters only once published
            p.data += 0.5
        dp.publish()
        loss2, grads2 = one_process(m, x, y)
        assert dp.loss_and_grads(x, y) == pytest.approx(loss2, rel=1e-6)
        for g2, p in zip(grads2, m.parameters()):
            np.testing.assert_allclose(p.grad.data, g2, rtol=1e-4, atol=1e-6)


def _adamw(model, amsgrad=False):
    """AdamW with two groups (matrices decayed, the rest not; different learning rates), as the presets do."""
    params = list(model.parameters())
    return minitorch.optim.AdamW([{"params": [p for p in params if p.ndim >= 2], "weight_decay": 0.1},
                                  {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0, "lr": 3e-3}],
                                 lr=1e-2, betas=(0.9, 0.99), amsgrad=amsgrad)


def _assert_same_training_state(m, opt, ref, ref_opt, exact):
    check = np.testing.assert_array_equal if exact else (
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-8))
    for p, q in zip(m.parameters(), ref.parameters()):
        check(p.data, q.data)
        check(p.grad.data, q.grad.data)
        s, r = opt.state[p], ref_opt.state[q]
        assert s["step"] == r["step"]
        for key in ("exp_avg", "exp_avg_sq"):
            check(s[key].data, r[key].data)
    assert opt._step_count == ref_opt._step_count


@pytest.mark.parametrize("model, rows, procs, clip", [("gpt", 5, 2, 1e-3), ("lstm", 7, 3, 0.0), ("gpt", 6, 3, 1e3),
                                                      ("lstm", 2, 3, 1e-2)])  # clipped, none, unclipped; idle worker
def test_the_sharded_step_equals_averaging_clipping_and_stepping_in_the_main_process(model, rows, procs, clip):
    """train_step(x, y, opt, clip) leaves the parameters, .grad (the clipped mean gradient) and AdamW's state of
    loss_and_grads + clip_grad_norm_ + opt.step() + publish(): the same elementwise arithmetic, so bit for bit
    without clipping (the clipping norm is summed in another order: float rounding); the workers compute with the
    new parameters without a publish()."""
    m, ref = tiny_model(model), tiny_model(model)
    opt, ref_opt = _adamw(m), _adamw(ref)
    with DataParallel(m, procs) as dp, DataParallel(ref, procs) as ref_dp:
        assert dp.shardable(opt)
        for step in range(3):
            x, y = batch(rows, seed=step)
            loss = dp.train_step(x, y, opt, clip)
            assert loss == ref_dp.loss_and_grads(x, y)
            if clip > 0:
                minitorch.optim.clip_grad_norm_(ref.parameters(), clip)
            ref_opt.step()
            ref_dp.publish()
            _assert_same_training_state(m, opt, ref, ref_opt, exact=clip == 0 or clip > 100)
        batches = [batch(rows, seed=s) for s in range(4)]
        assert dp.losses(batches) == pytest.approx(ref_dp.losses(batches), rel=1e-6)
        # the other requests still work between sharded steps, and the steps after them
        assert dp.loss_and_grads(*batch(rows, seed=9)) == ref_dp.loss_and_grads(*batch(rows, seed=9))
        x, y = batch(rows, seed=3)
        assert dp.train_step(x, y, opt, clip) == ref_dp.loss_and_grads(x, y)


def test_the_sharded_step_continues_from_a_loaded_state():
    """A run resumed from a checkpoint (state loaded into fresh objects, then a new DataParallel) steps as the
    uninterrupted one: the loaded parameters and Adam state are copied into the shared buffers."""
    m = tiny_model("lstm")
    opt = _adamw(m)
    with DataParallel(m, 2) as dp:
        for step in range(2):
            dp.train_step(*batch(4, seed=step), opt, 0.5)
        saved_model, saved_opt = copy.deepcopy(m.state_dict()), copy.deepcopy(opt.state_dict())  # (views: copies)
        dp.train_step(*batch(4, seed=2), opt, 0.5)
    resumed = tiny_model("lstm")
    resumed.load_state_dict(saved_model)
    resumed_opt = _adamw(resumed)
    resumed_opt.load_state_dict(saved_opt)
    with DataParallel(resumed, 2) as dp:
        dp.train_step(*batch(4, seed=2), resumed_opt, 0.5)
    for p, q in zip(m.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
        for key in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_array_equal(opt.state[p][key].data, resumed_opt.state[q][key].data)


@pytest.mark.parametrize("spin", [60.0, 0.0])
def test_requests_through_the_mailbox_and_through_the_pipe_give_the_same_results(spin):
    """A worker that polls for its next request (``spin`` 60 s: it never sleeps in this test) takes the small ones
    from its shared mailbox; one that sleeps (``spin`` 0) takes all from its pipe. Requests too large for the
    mailbox go through the pipe either way (the worker polls it too). Every path gives the results of the
    requests that always went through pipes (loss_and_grads, clip_grad_norm_, opt.step, publish)."""
    m, ref = tiny_model("lstm"), tiny_model("lstm")
    opt, ref_opt = _adamw(m), _adamw(ref)
    big = [batch(64, seed=s) for s in range(20)]  # the worker's half, about 80 KB pickled: more than its mailbox
    assert len(pickle.dumps(("losses", big[10:], None, None))) > parallel._MAIL_BYTES
    with DataParallel(m, 2, spin=spin) as dp, DataParallel(ref, 2) as ref_dp:
        for step in range(3):
            x, y = batch(4, seed=step)
            assert dp.train_step(x, y, opt, 0.0) == ref_dp.loss_and_grads(x, y)
            ref_opt.step()
            ref_dp.publish()
            _assert_same_training_state(m, opt, ref, ref_opt, exact=True)
        assert dp.losses(big) == pytest.approx([single_eval(ref, bx, by) for bx, by in big], rel=1e-6)
        x, y = batch(4, seed=7)
        assert dp.loss_and_grads(x, y) == pytest.approx(one_process(ref, x, y)[0], rel=1e-6)
        sent = int(dp._signals._sent[1])
    assert sent == (4 if spin else 0)  # the 3 steps and the last request; the large one went through the pipe


def test_a_failing_or_dead_worker_stops_a_sharded_step_with_its_error():
    m = tiny_model()
    opt = _adamw(m)
    x, y = batch(5)
    x[3:] = VOCAB + 4                             # only the worker's rows (3:5) hold ids the embedding lacks
    with DataParallel(m, 2) as dp:
        with pytest.raises(RuntimeError, match="data-parallel worker 1 failed: .*"):
            dp.train_step(x, y, opt, 1.0)
        for request in (lambda: dp.train_step(*batch(4), opt, 1.0), lambda: dp.loss_and_grads(*batch(4)),
                        lambda: dp.losses([batch(4)])):  # refused: the processes may be out of step
            with pytest.raises(RuntimeError, match="an earlier train_step failed .RuntimeError.*close it"):
                request()
    with DataParallel(m, 2) as dp:
        dp.train_step(*batch(4), opt, 1.0)
        os.kill(dp._workers[0].pid, signal.SIGKILL)
        dp._workers[0].join()
        with pytest.raises(RuntimeError, match=r"data-parallel worker 1 stopped \(exit code -9\)"):
            dp.train_step(*batch(4), opt, 1.0)


def test_workers_waiting_at_a_barrier_stop_when_the_main_process_fails():
    """The main process fails in its own rows while the workers wait for its gradients: leaving ``with`` stops
    them (they exit by themselves, not by terminate()), at once."""
    m = tiny_model()
    x, y = batch(6)
    x[:2] = VOCAB + 4                             # only the main process's rows (0:2) are bad
    with pytest.raises(IndexError):
        with DataParallel(m, 3) as dp:
            workers = list(dp._workers)
            start = time.monotonic()
            dp.train_step(x, y, _adamw(m), 1.0)
    assert time.monotonic() - start < 4
    assert [w.exitcode for w in workers] == [0, 0]


def test_a_lock_held_by_a_dead_process_does_not_hang_the_others():
    """The shared lock is taken by polling; when it stays taken (its holder was killed), ``alive`` is asked every
    millisecond and ends the wait by raising."""
    import multiprocessing  # noqa: PLC0415

    signals = parallel._Signals(multiprocessing.get_context("spawn"), 2)
    calls = []

    def alive():
        calls.append(time.perf_counter())
        if len(calls) == 3:
            raise parallel.WorkerStopped("gone")

    assert signals._lock.acquire(False)          # as if a killed process held it
    start = time.perf_counter()
    with pytest.raises(parallel.WorkerStopped, match="gone"):
        signals.arrive(1, 1, alive)
    assert len(calls) == 3 and calls[0] - start >= 0.001
    signals._lock.release()
    signals.arrive(1, 1, alive)                  # free: no call
    assert signals.reached(1) == 1 and len(calls) == 3


def test_shared_parameters_and_pieces_start_on_cache_lines():
    """Each parameter's view in the flat buffers, and each process's piece of them, starts at a multiple of 64
    bytes (unaligned AVX-512 loads cost a second cache line), whatever the parameters' sizes."""
    m = tiny_model("lstm")
    assert any(p.data.size % 16 for p in m.parameters())  # sizes that would misalign what follows them
    opt = _adamw(m)
    with DataParallel(m, 3) as dp:
        dp.train_step(*batch(6), opt, 1.0)
        flat = dp._flat
        for p in m.parameters():
            for a in (p.data, p.grad.data, opt.state[p]["exp_avg"].data, opt.state[p]["exp_avg_sq"].data):
                assert np.shares_memory(a, flat.param) or np.shares_memory(a, flat.grad) or \
                    np.shares_memory(a, flat.m) or np.shares_memory(a, flat.v)
                assert a.ctypes.data % 64 == 0
        for a, b in dp._shards:
            assert flat.param[a:b].ctypes.data % 64 == 0 and flat.grad[a:b].ctypes.data % 64 == 0
        assert [b - a for a, b in dp._shards] == pytest.approx([flat.param.size / 3] * 3, abs=16)


def test_shardable_is_adam_over_exactly_the_model():
    m = tiny_model()
    params = list(m.parameters())
    with DataParallel(m, 2) as dp:
        assert dp.shardable(minitorch.optim.Adam(params))
        assert not dp.shardable(_adamw(m, amsgrad=True))
        assert not dp.shardable(minitorch.optim.SGD(params, lr=0.1))
        assert not dp.shardable(minitorch.optim.Adam(params[1:]))


def test_a_failing_worker_is_reported_and_a_dead_one_noticed():
    m = tiny_model()
    x, y = batch(5)
    x[3:] = VOCAB + 4                             # only the worker's rows (3:5) hold ids the embedding lacks
    with DataParallel(m, 2) as dp:
        with pytest.raises(RuntimeError, match="data-parallel worker 1 failed: .*"):
            dp.loss_and_grads(x, y)
    with DataParallel(m, 2) as dp:
        os.kill(dp._workers[0].pid, signal.SIGKILL)
        dp._workers[0].join()
        with pytest.raises(RuntimeError, match=r"data-parallel worker 1 stopped \(exit code -9\)"):
            dp.loss_and_grads(*batch(4))


def test_fewer_than_two_processes_is_an_error():
    with pytest.raises(ValueError, match="at least 2 processes"):
        DataParallel(tiny_model(), 1)


def test_train_with_procs_gives_the_same_run(tmp_path, corpus):  # noqa: F811 - the fixture
    args = ["--corpus", corpus, "--max-iters", "6", "--eval-interval", "3", *TINY]
    run_train([*args, "--out-dir", str(tmp_path / "one")])
    summary = run_train([*args, "--out-dir", str(tmp_path / "two"), "--procs", "2"])
    assert summary["steps"] == 6
    one, two = read_log(tmp_path / "one" / "log.csv"), read_log(tmp_path / "two" / "log.csv")
    for a, b in zip(one, two, strict=True):
        assert float(b["train_loss"]) == pytest.approx(float(a["train_loss"]), abs=1e-5)
        if a["val_loss"]:
            assert float(b["val_loss"]) == pytest.approx(float(a["val_loss"]), abs=1e-5)


@pytest.mark.parametrize("extra, message", [
    (["--procs", "5"], "--procs 5 is more than the --batch-size 4 rows"),
    (["--procs", "0"], "--procs: must be at least 1, got 0"),
    (["--procs", "two"], "--procs: invalid value 'two': use a positive integer or 'auto'"),
    (["--procs", "2", "--device", "cuda"], "on --device cuda use --procs 1"),
])
def test_bad_procs_are_refused_before_anything_is_written(tmp_path, capsys, corpus, extra, message):  # noqa: F811
    out = tmp_path / "run"
    line = user_error(capsys, train_cli.main, ["--corpus", corpus, "--max-iters", "2", "--out-dir", str(out), *TINY,
                                               *extra, "--quiet"])
    assert message in line
    assert not out.exists()


def test_a_resumed_run_checks_procs_against_its_own_batch_size(tmp_path, capsys, corpus):  # noqa: F811
    out = tmp_path / "run"
    run_train(["--corpus", corpus, "--max-iters", "2", *TINY, "--out-dir", str(out)])  # batch 4
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    line = user_error(capsys, train_cli.main, ["--resume", str(out), "--max-iters", "4", "--procs", "5", "--quiet"])
    assert "--procs 5 is more than the --batch-size 4 rows" in line
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


class _NoWorkers:
    def __init__(self, *args, **kwargs):
        raise OSError(28, "No space left on device")


def test_workers_that_do_not_start_refuse_an_explicit_procs_before_any_file_is_written(tmp_path, capsys, monkeypatch,
                                                                                       corpus):  # noqa: F811
    monkeypatch.setattr(train_cli, "DataParallel", _NoWorkers)
    out = tmp_path / "run"
    line = user_error(capsys, train_cli.main, ["--corpus", corpus, "--max-iters", "2", *TINY, "--procs", "2",
                                               "--out-dir", str(out), "--quiet"])
    assert "--procs 2: the worker processes did not start: [Errno 28] No space left on device" in line
    assert "use --procs 1" in line
    assert not out.exists()


def test_workers_that_do_not_start_leave_procs_auto_in_one_process(tmp_path, capsys, monkeypatch,
                                                                   corpus):  # noqa: F811
    monkeypatch.setattr(train_cli, "DataParallel", _NoWorkers)
    monkeypatch.setattr(train_cli, "_AUTO_PROCS_WORK", 0)
    monkeypatch.setattr(train_cli, "usable_cores", lambda: 2)
    summary = run_train(["--corpus", corpus, "--max-iters", "2", *TINY, "--batch-size", "8",
                         "--out-dir", str(tmp_path / "run")])
    assert summary["procs"] == 1 and summary["steps"] == 2
    assert ("note: training in one process: the workers of --procs auto (2) did not start ([Errno 28] No space left "
            "on device)") in capsys.readouterr().err


class _Sized:
    def __init__(self, parameters):
        self.parameters = parameters

    def num_parameters(self):
        return self.parameters


@pytest.mark.parametrize("parameters, batch_size, cores, extra, expected", [
    (809_856, 12, 2, {}, 2),                     # baby-gpt on 2 cores
    (809_856, 12, 16, {}, 3),                    # at least 4 rows of a batch of 12 per process
    (809_856, 64, 64, {}, 8),                    # at most 8 processes
    (809_856, 12, 1, {}, 1),                     # one core
    (809_856, 12, 4, {"threads": 2}, 1),         # --threads N asks for one process with N threads
    (809_856, 12, 4, {"device": "cuda"}, 1),     # the GPU trains in one process
    (4_608, 12, 4, {}, 1),                       # parameters x tokens below 10 million: one process
    (13_000, 12, 4, {}, 1),                      # 9,984,000
    (13_100, 12, 4, {}, 3),                      # 10,060,800: data-parallel
])
def test_procs_auto_follows_the_cores_the_batch_and_the_size_of_a_step(parameters, batch_size, cores, extra,
                                                                        expected):
    cfg = Config(batch_size=batch_size, block_size=64, device=extra.get("device", "cpu"))
    threads = extra.get("threads", "auto")
    assert train_cli.auto_procs(_Sized(parameters), cfg, threads, cores=cores) == expected


def test_the_command_line_trains_data_parallel_by_default_where_auto_says_so(
        tmp_path, capsys, monkeypatch, corpus):  # noqa: F811 - the fixture
    args = ["--corpus", corpus, "--max-iters", "2", *TINY, "--batch-size", "8"]
    run_train([*args, "--out-dir", str(tmp_path / "small")])
    assert "data-parallel" not in capsys.readouterr().err         # a tiny model: one process
    monkeypatch.setattr(train_cli, "_AUTO_PROCS_WORK", 0)
    monkeypatch.setattr(train_cli, "usable_cores", lambda: 2)
    summary = run_train([*args, "--out-dir", str(tmp_path / "auto")])
    assert summary["procs"] == 2
    assert "data-parallel in 2 processes (auto), 1 BLAS thread each" in capsys.readouterr().err
    summary = run_train([*args, "--out-dir", str(tmp_path / "threads"), "--threads", "1"])
    assert summary["procs"] == 1 and "data-parallel" not in capsys.readouterr().err
    summary = run_train([*args, "--out-dir", str(tmp_path / "one"), "--procs", "1"])
    assert summary["procs"] == 1


def test_a_resumed_run_keeps_its_process_count_and_its_dropout_masks(
        tmp_path, capsys, monkeypatch, corpus):  # noqa: F811 - the fixture
    """With dropout, a --procs 2 run stopped and resumed (with --procs auto, on a machine that would now choose 1)
    logs the losses of the uninterrupted run: the count comes from the checkpoint, the workers' masks from the
    step."""
    args = ["--corpus", corpus, "--max-iters", "6", "--eval-interval", "3", *TINY, "--batch-size", "8",
            "--dropout", "0.2"]
    run_train([*args, "--out-dir", str(tmp_path / "whole"), "--procs", "2"])
    run_train([*args, "--out-dir", str(tmp_path / "parts"), "--procs", "2", "--stop-at", "4"])
    capsys.readouterr()
    monkeypatch.setattr(train_cli, "usable_cores", lambda: 1)
    summary = run_train(["--resume", str(tmp_path / "parts")])
    assert summary["procs"] == 2 and "data-parallel in 2 processes (as the run began)" in capsys.readouterr().err
    whole, parts = read_log(tmp_path / "whole" / "log.csv"), read_log(tmp_path / "parts" / "log.csv")
    assert [r["train_loss"] for r in parts] == [r["train_loss"] for r in whole]
    assert [r["val_loss"] for r in parts] == [r["val_loss"] for r in whole]
    one = run_train([*args, "--out-dir", str(tmp_path / "one"), "--procs", "1"])
    assert one["procs"] == 1
    assert read_log(tmp_path / "one" / "log.csv")[1]["train_loss"] != whole[1]["train_loss"]  # other masks


@pytest.mark.parametrize("idle, noted", [(0.4, True), (1.9, False)])
def test_busy_cores_get_a_note_when_training_data_parallel(
        tmp_path, capsys, monkeypatch, corpus, idle, noted):  # noqa: F811 - the fixture
    monkeypatch.setattr(train_cli, "idle_cores", lambda: idle)
    run_train(["--corpus", corpus, "--max-iters", "1", *TINY, "--batch-size", "8", "--procs", "2",
               "--out-dir", str(tmp_path / "run")])
    note = f"note: only {idle:.1f} cores of this machine were idle at the start; data-parallel training in 2"
    assert (note in capsys.readouterr().err) == noted


def test_ctrl_c_to_the_process_group_stops_a_data_parallel_run_after_a_whole_step(tmp_path, corpus):  # noqa: F811
    """What Ctrl-C in a terminal does: SIGINT to the training process and its workers at once. The workers ignore
    it; the main process finishes the step, saves it, stops them and exits 130; the resumed run then logs what an
    uninterrupted one does."""
    args = ["--corpus", corpus, *TINY, "--batch-size", "8", "--procs", "2", "--dropout", "0.1", "--max-iters",
            "100000", "--eval-interval", "100000"]
    out = tmp_path / "run"
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from minitorch.cli.train import main; main(sys.argv[1:])")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-c", code, *args, "--out-dir", str(out), "--quiet"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(_rows(out / "log.csv")) < 3 and proc.poll() is None:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    step = int(load_checkpoint(str(out / "last.ckpt"), restore_rng=False)["step"])
    assert f"interrupted: saved step {step} in" in err and step >= 3
    left = _running_in_group(proc.pid)
    for _ in range(200):  # the workers and multiprocessing's helper end with the main process
        if not left:
            break
        time.sleep(0.05)
        left = _running_in_group(proc.pid)
    assert not left, f"processes of the interrupted run still running: {left}"
    run_train(["--resume", str(out), "--stop-at", str(step + 3)])
    run_train([*args, "--out-dir", str(tmp_path / "straight"), "--stop-at", str(step + 3)])
    resumed, straight = read_log(out / "log.csv"), read_log(tmp_path / "straight" / "log.csv")
    assert [r["train_loss"] for r in resumed] == [r["train_loss"] for r in straight]


def _running_in_group(pgid):
    """[(pid, state, command line)] of the processes of group ``pgid`` that still run (not zombies waiting for
    init to reap them, which some container inits are slow to do), from /proc; [] where there is no /proc."""
    found = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, pgrp, ...
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    found.append((int(entry), fields[0], fh.read().replace(b"\0", b" ").decode(errors="replace")))
            except OSError:
                continue
    return found


def _rows(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.readlines()[1:]
    except FileNotFoundError:
        return []


def test_a_script_without_the_main_guard_trains_with_procs_auto_in_one_process(tmp_path, corpus):  # noqa: F811
    """``train(..., procs="auto")`` in a script without the guard: each worker imports the script, whose train()
    call must fail in the worker (not train there too); the script's own run then trains in one process, and says
    why."""
    script = tmp_path / "noguard.py"
    out = tmp_path / "run"
    argv = [*TINY, "--batch-size", "8", "--corpus", corpus, "--max-iters", "3", "--out-dir", str(out)]
    script.write_text("import minitorch.cli.train as t\n"
                      "t._AUTO_PROCS_WORK, t.usable_cores = 0, lambda: 2\n"
                      f"cfg, _ = t.parse_args({argv!r})\n"
                      "print(t.train(cfg, quiet=True, procs='auto')['procs'])\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1"
    assert "note: training in one process: the workers of --procs auto (2) did not start" in r.stderr
    assert 'needs the `if __name__ == "__main__":` guard' in r.stderr
    assert [int(row["step"]) for row in read_log(out / "log.csv")] == [1, 2, 3]


def test_a_script_without_the_main_guard_gets_an_error_not_a_hang(tmp_path):
    """Spawned workers import the calling script; without the guard each worker fails as it starts. That must be
    an error naming the fix (multiprocessing itself would wait forever to hand a dead worker a large argument)."""
    script = tmp_path / "noguard.py"
    script.write_text("from minitorch.cli.parallel import DataParallel\n"
                      "from tests.test_parallel import tiny_model\n"
                      "DataParallel(tiny_model(), 2).close()\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env,
                       cwd=tmp_path)
    assert r.returncode == 1
    assert "data-parallel worker 1 stopped (exit code 1) while starting" in r.stderr
    assert 'needs the `if __name__ == "__main__":` guard' in r.stderr
