"""The sandbox child: runs test cases on the student's ``minitorch`` and writes arrays back.

Started by ``autograder.sandbox`` as ``python -I -B [-S] child.py JOBDIR 1 START`` inside
the sandbox (``sandbox.py``), from a per-run copy of the child-side grader modules (this file,
``protocol``, ``execute``, ``spec``, ``tolerances``, ``cases``). JOBDIR holds ``job.json`` and
``inputs.npz`` (inputs and upstream gradients only). It imports the student's package from the
submission copy, blocks torch/tensorflow/jax with a friendly message (under bwrap they are absent
from the filesystem anyway), runs every case from ``START`` on and sends each result as a frame on
the pipe it got as stdout (moved to another descriptor first; fd 1 then points at stderr, so
student prints never mix with frames; ``protocol.py``). It never sees expected values and decides
nothing: comparisons and scores are made in the parent, which treats every byte from here as hostile.
"""
import importlib.abc
import importlib.util
import json
import os
import sys

FORBIDDEN = ("torch", "tensorflow", "jax", "jaxlib")


class _Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in FORBIDDEN:
            raise ImportError(
                f"importing {fullname!r} is not allowed in a minitorch submission: "
                "implement the kernels with NumPy (xp = get_array_module(x))")
        return None


class _BrokenModule(importlib.abc.Loader):
    """Stands in for a student module that cannot be imported (a syntax error, a missing file):
    importing it succeeds, and every function taken from it raises the original problem when called,
    so only the tests that use that module fail."""

    def __init__(self, message):
        self.message = message

    def create_module(self, spec):
        import types  # noqa: PLC0415

        message = self.message

        class Stub(types.ModuleType):
            def __getattr__(self, name):
                if name.startswith("__"):
                    raise AttributeError(name)

                def broken(*args, **kwargs):
                    raise ImportError(message)

                broken.__name__ = broken.__qualname__ = name
                return broken

        return Stub(spec.name)

    def exec_module(self, module):
        module.__file__ = "<broken>"


class _StubFinder(importlib.abc.MetaPathFinder):
    def __init__(self, broken):
        self.broken = broken

    def find_spec(self, fullname, path=None, target=None):
        if fullname in self.broken:
            return importlib.util.spec_from_loader(fullname, _BrokenModule(self.broken[fullname]))
        return None


def _broken_modules(submission, required):
    """{module name: message} for student files that do not compile, and required files that are missing."""
    broken = {}
    root = os.path.join(submission, "minitorch")
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for f in files:
            if not f.endswith(".py") or f == "__init__.py":
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, submission)
            try:
                with open(path, encoding="utf-8") as fh:
                    compile(fh.read(), rel, "exec")
            except (SyntaxError, ValueError, UnicodeDecodeError) as e:
                line = getattr(e, "lineno", None)
                broken[rel[:-3].replace(os.sep, ".")] = (
                    f"{rel} cannot be imported: {type(e).__name__}: {getattr(e, 'msg', e)}"
                    + (f" (line {line})" if line else ""))
    for rel in required:
        if rel.endswith(".py") and not os.path.exists(os.path.join(submission, rel)):
            broken[rel[:-3].replace("/", ".")] = f"{rel} is missing from the submission"
    return broken


def _limit_memory(mb):
    if mb and mb > 0:
        try:
            import resource  # noqa: PLC0415 - POSIX only
        except ImportError:  # pragma: no cover - Windows: no cap (local feedback only)
            return
        limit = int(mb) * 1024 * 1024
        try:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        except (ValueError, OSError):
            pass


def _load_grader(root):
    """Import the grader's own ``autograder`` package (the per-run copy of its child-side modules)
    from ``root``: student files can never replace the grader's case code."""
    init = os.path.join(root, "autograder", "__init__.py")
    spec = importlib.util.spec_from_file_location(
        "autograder", init, submodule_search_locations=[os.path.join(root, "autograder")])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["autograder"] = mod
    spec.loader.exec_module(mod)


def _send(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


class _Broken:
    """Stands in for a submodule that failed to import: using it raises that import error."""

    def __init__(self, message):
        self._message = message

    def __getattr__(self, name):
        raise ImportError(self._message)


def _import_submodules(minitorch, describe):
    """``minitorch.nn`` etc. are used as attributes (like torch.nn): import them up front; one that
    fails to import only fails the tests that use it."""
    import importlib  # noqa: PLC0415

    for sub in ("nn", "nn.functional", "nn.utils", "nn.attention", "optim"):
        try:
            importlib.import_module(f"minitorch.{sub}")
        except Exception as e:  # noqa: BLE001
            parent = minitorch
            *path, last = sub.split(".")
            for part in path:
                parent = getattr(parent, part, None)
            if parent is not None and not isinstance(parent, _Broken):
                setattr(parent, last, _Broken(f"importing minitorch.{sub} failed: {describe(e)}"))


def main():
    job_dir, status_fd = sys.argv[1], int(sys.argv[2])
    start = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    if status_fd == 1:  # the frames go to the pipe on stdout; student prints go to stderr
        status_fd = os.dup(1)
        os.dup2(2, 1)
    try:
        with open(os.path.join(job_dir, "job.json"), encoding="utf-8") as f:
            job = json.load(f)
        _limit_memory(job.get("memory_mb"))
        here = os.path.dirname(os.path.abspath(__file__))
        sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != here]
        for p in reversed(job.get("paths", [])):
            sys.path.insert(0, p)
        _load_grader(job["grader_root"])
        sys.meta_path.insert(0, _Blocker())

        import numpy as np  # noqa: PLC0415

        from autograder.execute import (  # noqa: PLC0415
            Adapter,
            describe,
            finite_differences,
            forward_backward,
            set_student_roots,
        )
        from autograder.protocol import encode_result  # noqa: PLC0415
        from autograder.spec import load_registry  # noqa: PLC0415

        registry = load_registry(job["assignment"])
        with np.load(os.path.join(job_dir, "inputs.npz"), allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except BaseException as e:  # noqa: BLE001 - the sandbox itself could not start: a grader problem
        msg = f"{type(e).__name__}: {e}"
        js = json.dumps({"error": msg[:2000]}).encode()
        _send(status_fd, f"F {len(js)}\n".encode() + js)
        os._exit(3)

    submissions = list(job["submissions"])
    state = {"group": None, "minitorch": None, "adapter": None, "error": None, "stub": None}

    def switch(group):
        """Import the minitorch of submission ``group`` (forgetting the previous one)."""
        submission = submissions[group]
        for name in [m for m in sys.modules if m == "minitorch" or m.startswith("minitorch.")]:
            del sys.modules[name]
        if state["stub"] is not None:
            sys.meta_path.remove(state["stub"])
            state["stub"] = None
        if state["group"] is not None:
            sys.path.remove(submissions[state["group"]])
        sys.path.insert(0, submission)
        importlib.invalidate_caches()
        broken = _broken_modules(submission, job.get("required_files", []))
        if broken:
            state["stub"] = _StubFinder(broken)
            sys.meta_path.insert(1, state["stub"])
        set_student_roots(submission)
        state.update(group=group, minitorch=None, adapter=None, error=None)
        try:
            import minitorch  # noqa: PLC0415

            where = os.path.realpath(getattr(minitorch, "__file__", "") or "")
            if not where.startswith(os.path.join(os.path.realpath(submission), "minitorch") + os.sep):
                raise ImportError("no minitorch package in the submission folder "
                                  f"(found {where or 'a namespace package'})")
            _import_submodules(minitorch, describe)
            state.update(minitorch=minitorch, adapter=Adapter(minitorch, "minitorch"))
        except BaseException as e:  # noqa: BLE001 - fails this submission's tests, with the reason
            state["error"] = "importing minitorch failed: " + describe(e)

    for item in job["items"][start:]:
        i = item["index"]
        _send(status_fd, f"S {i}\n".encode())
        if item.get("group", 0) != state["group"]:
            switch(item.get("group", 0))
            _send(status_fd, b"I\n")
        if state["error"] is not None:
            _send(status_fd, encode_result(i, {}, {"forward": state["error"]}))
            continue
        minitorch, adapter = state["minitorch"], state["adapter"]
        case = registry[item["case"]]
        inst = item["instance"]
        results, errors = {}, {}
        try:
            arrays = {n: data[f"{inst}/in/{n}"] for n in case.inputs}
            douts = {k.rsplit("/", 1)[1]: v.astype(np.float64) for k, v in data.items()
                     if k.startswith(inst + "/dout/")}
            if hasattr(minitorch, "manual_seed"):
                minitorch.manual_seed(0)
            if hasattr(minitorch, "set_default_dtype"):
                minitorch.set_default_dtype(np.float32)
            opts = case.options(item["dims"])
            results, _, errors = forward_backward(adapter, case, case.fn, arrays, item["dtype"], opts,
                                                  douts=douts)
            if item.get("fd_seed") is not None and "forward" not in errors and "backward" not in errors:
                grads = {k[5:]: v for k, v in results.items() if k.startswith("grad/")}
                try:
                    results.update(finite_differences(adapter, case, case.fn, arrays, opts, douts, grads,
                                                      item["fd_seed"]))
                except BaseException as e:  # noqa: BLE001
                    errors["fd"] = describe(e)
        except BaseException as e:  # noqa: BLE001
            errors["forward"] = describe(e)
        try:
            frame = encode_result(i, results, errors)
        except BaseException as e:  # noqa: BLE001 - e.g. results too large to pack
            frame = encode_result(i, {}, {"forward": "the results could not be sent back: " + describe(e)})
        _send(status_fd, frame)
    _send(status_fd, b"D\n")
    os._exit(0)


if __name__ == "__main__":
    main()
