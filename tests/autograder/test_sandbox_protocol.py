"""The parent's side of the sandbox protocol: everything the child sends is hostile, so frames,
arrays and messages are checked before anything is buffered or loaded; modes and the refusal to
grade for the record without isolation."""
import io
import json
import os
import zipfile

import numpy as np
import pytest

from autograder import protocol, sandbox
from autograder.__main__ import main as autograder_main
from autograder.__main__ import write_report
from autograder.protocol import FrameReader, ProtocolError, encode_result, read_arrays, read_errors

from .bugs import make_submission


def _npz(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_a_result_frame_round_trips_with_numeric_arrays_only():
    frame = encode_result(3, {"out/out": np.arange(6.0).reshape(2, 3), "out/s": np.float32(2.5),
                              "bad": np.array(["text"])}, {"forward": "x"})
    (ev,) = FrameReader().feed(b"S 3\n" + frame)[1:]
    assert ev[:2] == ("R", 3)
    arrays = read_arrays(ev[2], {"out/out": 24, "out/s": 4})
    assert arrays["out/out"].shape == (2, 3) and arrays["out/s"].shape == ()
    assert arrays["out/s"].dtype == np.float32
    assert read_errors(ev[3]) == {"forward": "x"}


def test_frames_are_parsed_incrementally_and_oversized_ones_refused_before_buffering():
    r = FrameReader()
    frame = encode_result(0, {"out/o": np.ones(3)}, {})
    events = []
    for k in range(len(frame)):
        events += r.feed(frame[k:k + 1])
    assert len(events) == 1 and events[0][0] == "R"
    with pytest.raises(ProtocolError, match="limit"):
        FrameReader().feed(f"R 0 {1 << 35} 2\n".encode())
    with pytest.raises(ProtocolError, match="longer"):
        FrameReader().feed(b"S " + b"1" * 200)
    with pytest.raises(ProtocolError, match="unknown"):
        FrameReader().feed(b"X 1\n")
    with pytest.raises(ProtocolError, match="malformed"):
        FrameReader().feed(b"S -1\n")


def test_a_forged_huge_array_is_refused_from_its_header():
    # a 1 GiB float64 array declared in the header, a few bytes on disk
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(hdr, {"descr": "<f8", "fortran_order": False, "shape": (1 << 27,)})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("out/out.npy", hdr.getvalue() + b"\0" * 64)  # the header includes the magic
    with pytest.raises(ProtocolError, match="not acceptable"):
        read_arrays(buf.getvalue(), {"out/out": 1000})
    with pytest.raises(ProtocolError, match="not acceptable"):
        read_arrays(buf.getvalue(), None)  # the generic cap
    with pytest.raises(ProtocolError, match="larger than the limit"):
        read_arrays(buf.getvalue(), {"out/out": 1 << 27})  # within the element cap, not the byte cap
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(hdr, {"descr": "<f8", "fortran_order": False, "shape": (1000,)})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("out/out.npy", hdr.getvalue() + b"\0" * 64)
    with pytest.raises(ProtocolError, match="does not match"):
        read_arrays(buf.getvalue(), {"out/out": 1000})  # within the caps, but the data is not there


@pytest.mark.parametrize("bad, match", [
    (lambda: _npz(**{"out/o": np.array([object()], dtype=object)}), "dtype"),
    (lambda: _npz(**{"out/o": np.zeros(2, dtype=np.complex128)}), "dtype"),
    (lambda: _npz(**{"../evil": np.zeros(2)}), "name"),
    (lambda: _npz(**{f"out/k{i}": np.zeros(1) for i in range(100)}), "arrays"),
    (lambda: b"PK\x03\x04garbage", "valid"),
])
def test_malformed_results_are_rejected(bad, match):
    with pytest.raises(ProtocolError, match=match):
        read_arrays(bad(), None)


def test_unexpected_keys_are_dropped_and_messages_capped_and_cleaned():
    got = read_arrays(_npz(**{"out/o": np.zeros(2), "grad/zz": np.zeros(2)}), {"out/o": 10})
    assert list(got) == ["out/o"]
    msg = json.dumps({"errors": {"forward": "\x1b[31mred" + "m" * 10000, "weird": "x", "grad/q": "y"}}).encode()
    errs = read_errors(msg, allowed={"out/o": 2})
    assert set(errs) == {"forward"}
    assert len(errs["forward"]) < protocol.MAX_MESSAGE + 40 and "\x1b" not in errs["forward"]
    with pytest.raises(ProtocolError):
        read_errors(b"[1, 2]")


def test_mode_selection_and_refusal_without_isolation(monkeypatch, tmp_path):
    monkeypatch.setenv("MINITORCH_SANDBOX", "chroot")
    with pytest.raises(sandbox.SandboxError, match="expected one of"):
        sandbox.detect_mode()
    monkeypatch.setenv("MINITORCH_SANDBOX", "none")
    assert sandbox.detect_mode() == "none"
    assert sandbox.describe_mode("none").startswith("sandbox: none (local feedback only): active: ")
    with pytest.raises(sandbox.SandboxError, match="--insecure"):
        sandbox.require_isolation("none", insecure=False, what="--format gradescope")
    sandbox.require_isolation("none", insecure=True)
    sub = make_submission(str(tmp_path / "sub"))
    out = tmp_path / "r.json"
    assert autograder_main(["hw1", "--submission", sub, "--test", "matmul", "--format", "gradescope",
                            "--out", str(out), "--sandbox", "none"]) == 2
    assert not out.exists()
    assert autograder_main(["hw1", "--submission", sub, "--test", "matmul", "--format", "gradescope",
                            "--out", str(out), "--sandbox", "none", "--insecure"]) == 0
    rep = json.loads(out.read_text(encoding="utf-8"))
    assert rep["score"] == pytest.approx(13.0) and "sandbox: none (local feedback only)" in rep["output"]


def test_the_report_is_written_atomically_and_replaces_a_planted_link(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    out = tmp_path / "results.json"
    os.symlink(victim, out)
    write_report(str(out), "{}\n")
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert not out.is_symlink() and out.read_text(encoding="utf-8") == "{}\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report-")] == []


def test_the_budget_stops_an_assignment_and_names_itself(tmp_path):
    from autograder.grade import grade_assignment

    sub = make_submission(str(tmp_path / "slow"), [
        ("minitorch/kernels/matmul.py", "    # BEGIN SOLUTION hw1\n    a2 =",
         "    # BEGIN SOLUTION hw1\n    import time\n    time.sleep(30)\n    a2 =")])
    rep = grade_assignment("hw1", sub, tests=["matmul"], timeout=20.0, budget=3.0, finite_differences=False)
    msgs = {c["message"] for t in rep["tests"] for c in t["checks"] if not c["passed"]}
    assert any("total time budget of 3 s" in m for m in msgs), msgs
    assert rep["seconds"] < 15


def test_setpriv_refuses_fixtures_other_users_can_read(tmp_path, capsys):
    import pathlib
    import shutil
    import tempfile

    folder = pathlib.Path(tempfile.mkdtemp(prefix="mt-open-"))  # the system temp folder: others may enter it
    try:
        (folder / "hw1.npz").write_bytes(b"x")
        os.chmod(folder, 0o755)
        os.chmod(folder / "hw1.npz", 0o644)
        if sandbox._other_can_reach(str(folder)):
            with pytest.raises(sandbox.SandboxError, match="readable by other users"):
                sandbox.check_private([str(folder)])
        os.chmod(folder, 0o700)
        sandbox.check_private([str(folder)])  # a folder others cannot enter hides everything inside
    finally:
        shutil.rmtree(folder)
    if sandbox._mode_problem("setpriv") is None and sandbox._other_can_reach(
            os.path.join(os.path.dirname(sandbox.PACKAGE), "autograder", "fixtures", "manifest.json")):
        # grading from a checkout others can read: setpriv must refuse, with the reason, before running anything
        sub = make_submission(str(tmp_path / "sub"))
        assert autograder_main(["hw1", "--submission", sub, "--test", "matmul", "--sandbox", "setpriv"]) == 2
        assert "readable by other users" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------
# Both sides of the protocol: every frame the parent handles is one the child sends (``protocol.encode_*``),
# and every other order of frames (only a forgery can produce one) is a violation that stops the child.
def _watch(frames, items=(0, 1)):
    import types  # noqa: PLC0415

    run = types.SimpleNamespace(timeout=5.0, import_timeout=5.0, end=float("inf"))
    watch = sandbox._Watch(run, [{"index": i, "group": 0} for i in items], 0)
    reader = FrameReader()
    for ev in reader.feed(b"".join(frames)):
        watch.on_frame(ev, 0.0)
        if watch.reason is not None:
            break
    return watch


def test_the_frames_a_child_sends_are_the_frames_the_parent_accepts():
    ok = encode_result(0, {"out/o": np.ones(2)}, {})
    w = _watch([protocol.encode_start(0), protocol.encode_imported(), ok,
                protocol.encode_start(1), encode_result(1, {}, {"forward": "boom"}), protocol.encode_done()])
    assert (w.reason, w.imported, w.pos, [r[0] for r in w.raw]) == ("done", True, 2, [0, 1])
    assert sandbox._decode(w.raw[1], None) == ({}, {"forward": "boom"})
    w = _watch([protocol.encode_fatal("ImportError: no numpy\x1b[0m")])
    assert (w.reason, w.fatal) == ("fatal", "ImportError: no numpy[0m")


@pytest.mark.parametrize("frames, detail", [
    (["S0", "S0"], "an unexpected start of test 0"),
    (["S1"], "an unexpected start of test 1"),
    (["S0", "R1"], "a result for test 1, which is not running"),
    (["S0", "D"], "an early end of the tests"),
    (["S0", "F"], "a start-up error after the tests started"),
    (["S0", "R0", "S1", "R1", "S1"], "an unexpected start of test 1"),
])
def test_frames_out_of_order_are_a_violation(frames, detail):
    make = {"S": lambda i: protocol.encode_start(i), "R": lambda i: encode_result(i, {}, {}),
            "D": lambda: protocol.encode_done(), "F": lambda: protocol.encode_fatal("x")}
    w = _watch([make[f[0]](*map(int, f[1:])) for f in frames])
    assert (w.reason, w.detail) == ("protocol", detail)
    assert sandbox._decode((0, b"PK\x03\x04garbage", b'{"errors": {}}'), None)[1]["forward"].startswith(
        "the result of this test was rejected: the result is not a valid .npz")
    # the setpriv child's own exit status when its network filter cannot be installed is named, not blamed on students
    assert "network filter (seccomp)" in sandbox._describe_exit(sandbox.EXIT_NO_NETWORK_FILTER, "setpriv")


def test_a_child_that_cannot_start_is_a_grader_error():
    """The child's FATAL frame (its job cannot be loaded) stops grading with the child's reason."""
    items = [{"index": 0, "group": 0, "instance": "public:x[float64]", "case": "x", "dtype": "float64",
              "dims": {}, "fd_seed": None}]
    with pytest.raises(sandbox.SandboxError, match=r"could not start the tests \(none\): ModuleNotFoundError: "
                                                   r"No module named 'autograder.cases.hw0'"):
        sandbox.run_cases(os.path.dirname(sandbox.PACKAGE), "hw0", items, {}, mode="none")


def test_a_submission_that_crashes_or_hangs_on_import_fails_all_its_cases_and_the_next_one_runs(tmp_path):
    """No IMPORTED frame before the crash or the timeout: every case of that submission fails with
    the reason, and a fresh child grades the next submission."""
    from autograder.grade import grade_batch  # noqa: PLC0415

    init = "minitorch/__init__.py"
    head = '"""minitorch:'
    crash = make_submission(str(tmp_path / "crash"), [(init, head, 'import os\nos._exit(3)\n' + head)])
    hang = make_submission(str(tmp_path / "hang"), [(init, head, 'import time\ntime.sleep(60)\n' + head)])
    fine = make_submission(str(tmp_path / "fine"))
    reports = grade_batch("hw1", [(crash, ["matmul"]), (hang, ["matmul"]), (fine, ["matmul"])],
                          timeout=5.0, finite_differences=False)
    msgs = [{c["message"] for t in r["tests"] for c in t["checks"]} for r in reports]
    assert msgs[0] == {"importing minitorch crashed: the process exited with status 3 "
                       "(os._exit / sys.exit in student code?)"}
    assert msgs[1] == {"importing minitorch did not finish within 5 s (an infinite loop or a long computation "
                       "at import time?)"}
    assert reports[2]["score"] == reports[2]["max_score"] > 0
