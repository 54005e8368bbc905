"""The sandbox child: runs test cases on the student's ``minitorch`` and writes arrays back.

Started by ``autograder.sandbox`` as ``python -I child.py JOBDIR STATUS_FD``. It imports the
student's package from the submission folder (never the grader's), blocks torch/tensorflow/jax,
runs every case from ``start`` on, and for each writes ``<index>.npz`` (arrays only, no pickle)
and ``<index>.json`` (error messages) to JOBDIR/results, announcing ``S i`` / ``E i`` on the status
pipe so the parent can enforce the wall-time limit. It never sees expected values and decides
nothing: comparisons and scores are made in the parent.
"""
import importlib.abc
import importlib.util
import json
import os
import resource
import sys
import time

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
        limit = int(mb) * 1024 * 1024
        try:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        except (ValueError, OSError):
            pass


def _load_grader(root):
    """Import the grader's own ``autograder`` package from ``root`` even when the submission
    holds a copy (handouts do): student files can never replace the grader's case code."""
    init = os.path.join(root, "autograder", "__init__.py")
    spec = importlib.util.spec_from_file_location(
        "autograder", init, submodule_search_locations=[os.path.join(root, "autograder")])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["autograder"] = mod
    spec.loader.exec_module(mod)


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


def _write_result(out_dir, i, results, errors, seconds):
    import numpy as np  # noqa: PLC0415

    clean = {}
    for k, v in results.items():
        v = np.asarray(v)
        if v.dtype.kind in "biuf":
            clean[k] = v
    np.savez(os.path.join(out_dir, f"{i}.npz"), **clean)
    _write_json(os.path.join(out_dir, f"{i}.json"), {"errors": errors, "seconds": seconds})


def _write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


def main():
    job_dir, status_fd = sys.argv[1], int(sys.argv[2])
    status = os.fdopen(status_fd, "w", buffering=1)
    with open(os.path.join(job_dir, "job.json"), encoding="utf-8") as f:
        job = json.load(f)
    start = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    out_dir = os.path.join(job_dir, "results")
    _limit_memory(job.get("memory_mb"))
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != here]
    _load_grader(job["grader_root"])
    sys.meta_path.insert(0, _Blocker())

    import numpy as np  # noqa: PLC0415

    from autograder.execute import Adapter, describe, finite_differences, forward_backward, set_student_roots  # noqa: PLC0415
    from autograder.spec import load_registry  # noqa: PLC0415

    submissions = [os.path.realpath(p) for p in job["submissions"]]
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
            if not where.startswith(os.path.join(submission, "minitorch") + os.sep):
                raise ImportError(f"no minitorch package in the submission folder {submission} "
                                  f"(found {where or 'a namespace package'})")
            _import_submodules(minitorch, describe)
            state.update(minitorch=minitorch, adapter=Adapter(minitorch, "minitorch"))
        except BaseException as e:  # noqa: BLE001 - fails this submission's tests, with the reason
            state["error"] = "importing minitorch failed: " + describe(e)

    registry = load_registry(job["assignment"])
    with np.load(os.path.join(job_dir, "inputs.npz"), allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    for item in job["items"][start:]:
        i = item["index"]
        status.write(f"S {i}\n")
        status.flush()
        t0 = time.perf_counter()
        if item.get("group", 0) != state["group"]:
            switch(item.get("group", 0))
        if state["error"] is not None:
            _write_result(out_dir, i, {}, {"forward": state["error"]}, 0.0)
            status.write(f"E {i}\n")
            status.flush()
            continue
        minitorch, adapter = state["minitorch"], state["adapter"]
        case = registry[item["case"]]
        inst = item["instance"]
        arrays = {n: data[f"{inst}/in/{n}"] for n in case.inputs}
        douts = {k.rsplit("/", 1)[1]: v.astype(np.float64) for k, v in data.items() if k.startswith(inst + "/dout/")}
        if hasattr(minitorch, "manual_seed"):
            minitorch.manual_seed(0)
        if hasattr(minitorch, "set_default_dtype"):
            minitorch.set_default_dtype(np.float32)
        results, errors = {}, {}
        try:
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
        _write_result(out_dir, i, results, errors, time.perf_counter() - t0)
        status.write(f"E {i}\n")
        status.flush()
    status.write("D\n")
    status.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
