"""The sandbox child: runs test cases on the student's ``minitorch`` and writes arrays back.

Started by ``autograder.sandbox`` as ``python -I -B [-S] child.py JOBDIR START`` inside the sandbox
(``sandbox.py``), from a per-run copy of the child-side grader modules (this file, ``protocol``,
``execute``, ``spec``, ``tolerances``, ``cases``). JOBDIR holds ``protocol.JOB_FILE`` and
``protocol.INPUTS_FILE`` (inputs and upstream gradients only). It imports the student's package
from the submission copy, blocks torch/tensorflow/jax with a friendly message (under bwrap they are
absent from the filesystem anyway), runs every case from ``START`` on and sends each result as a
frame on the pipe it got as stdout (moved to another descriptor first; fd 1 then points at stderr,
so student prints never mix with frames; ``protocol.py``). It never sees expected values and
decides nothing: comparisons and scores are made in the parent, which treats every byte from here
as hostile.
"""
import importlib
import importlib.abc
import importlib.util
import json
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
SUBMODULES = ("nn", "nn.functional", "nn.utils", "nn.attention", "optim")  # used as attributes, like torch.nn


class ForbiddenImportBlocker(importlib.abc.MetaPathFinder):
    """Makes ``import torch`` (tensorflow, jax) fail with a message saying why."""

    def __init__(self, forbidden):
        self.forbidden = forbidden

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.forbidden:
            raise ImportError(
                f"importing {fullname!r} is not allowed in a minitorch submission: "
                "implement the kernels with NumPy (xp = get_array_module(x))")
        return None


class FunctionsRaiseModule(types.ModuleType):
    """A module whose every attribute is a function that raises ``message`` (an ImportError) when called."""

    def __init__(self, name, message):
        super().__init__(name)
        self._message = message

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        message = self._message

        def broken(*args, **kwargs):
            raise ImportError(message)

        broken.__name__ = broken.__qualname__ = name
        return broken


class UnimportableFileLoader(importlib.abc.Loader):
    """Loads a student module that cannot be imported (a syntax error, a missing file) as a
    ``FunctionsRaiseModule``: importing it succeeds, and every function taken from it raises the
    original problem when called, so only the tests that use that module fail."""

    def __init__(self, message):
        self.message = message

    def create_module(self, spec):
        return FunctionsRaiseModule(spec.name, self.message)

    def exec_module(self, module):
        module.__file__ = "<broken>"


class UnimportableFileFinder(importlib.abc.MetaPathFinder):
    """Finds the modules of ``broken`` ({module name: problem}) with an ``UnimportableFileLoader``."""

    def __init__(self, broken):
        self.broken = broken

    def find_spec(self, fullname, path=None, target=None):
        if fullname in self.broken:
            return importlib.util.spec_from_loader(fullname, UnimportableFileLoader(self.broken[fullname]))
        return None


class FailedSubmodule:
    """Stands in for a submodule whose import raised (``minitorch.nn`` ...): using it raises that error."""

    def __init__(self, message):
        self._message = message

    def __getattr__(self, name):
        raise ImportError(self._message)


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
    """Import the grader's own ``autograder`` package (the per-run copy of its child-side modules,
    this file's folder) from ``root``: student files can never replace the grader's case code."""
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


def _import_submodules(minitorch, describe):
    """``minitorch.nn`` etc. are used as attributes (like torch.nn): import them up front; one that
    fails to import only fails the tests that use it."""
    for sub in SUBMODULES:
        try:
            importlib.import_module(f"minitorch.{sub}")
        except Exception as e:  # noqa: BLE001
            parent = minitorch
            *path, last = sub.split(".")
            for part in path:
                parent = getattr(parent, part, None)
            if parent is not None and not isinstance(parent, FailedSubmodule):
                setattr(parent, last, FailedSubmodule(f"importing minitorch.{sub} failed: {describe(e)}"))


def _start(job_dir, protocol):
    """Read the job, cap memory, make NumPy and the grader's modules importable, block the forbidden
    frameworks. Returns (job, case registry, input arrays, the ``execute`` module)."""
    with open(os.path.join(job_dir, protocol.JOB_FILE), encoding="utf-8") as f:
        job = json.load(f)
    _limit_memory(job["memory_mb"])
    for p in reversed(job["paths"]):
        sys.path.insert(0, p)
    sys.meta_path.insert(0, ForbiddenImportBlocker(protocol.FORBIDDEN))

    import numpy as np  # noqa: PLC0415

    from autograder import execute  # noqa: PLC0415
    from autograder.spec import load_registry  # noqa: PLC0415

    registry = load_registry(job["assignment"])
    with np.load(os.path.join(job_dir, protocol.INPUTS_FILE), allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    return job, registry, data, execute


class Submissions:
    """The submissions of the job, imported one at a time (``switch``): ``minitorch`` and its
    ``Adapter``, or ``error`` when importing it failed (every case of that submission fails with it)."""

    def __init__(self, folders, required_files, execute):
        self.folders, self.required, self.execute = list(folders), list(required_files), execute
        self.group = self.minitorch = self.adapter = self.error = self.finder = None

    def switch(self, group):
        """Import the minitorch of submission ``group`` (forgetting the previous one)."""
        submission = self.folders[group]
        for name in [m for m in sys.modules if m == "minitorch" or m.startswith("minitorch.")]:
            del sys.modules[name]
        if self.finder is not None:
            sys.meta_path.remove(self.finder)
            self.finder = None
        if self.group is not None:
            sys.path.remove(self.folders[self.group])
        sys.path.insert(0, submission)
        importlib.invalidate_caches()
        broken = _broken_modules(submission, self.required)
        if broken:
            self.finder = UnimportableFileFinder(broken)
            sys.meta_path.insert(1, self.finder)  # after the ForbiddenImportBlocker
        self.execute.set_student_roots(submission)
        self.group, self.minitorch, self.adapter, self.error = group, None, None, None
        try:
            import minitorch  # noqa: PLC0415

            where = os.path.realpath(getattr(minitorch, "__file__", "") or "")
            if not where.startswith(os.path.join(os.path.realpath(submission), "minitorch") + os.sep):
                raise ImportError("no minitorch package in the submission folder "
                                  f"(found {where or 'a namespace package'})")
            _import_submodules(minitorch, self.execute.describe)
            self.minitorch, self.adapter = minitorch, self.execute.Adapter(minitorch, "minitorch")
        except BaseException as e:  # noqa: BLE001 - fails this submission's tests, with the reason
            self.error = "importing minitorch failed: " + self.execute.describe(e)


def run_item(item, registry, data, subs):
    """(result arrays, error messages) of one case instance on the current submission."""
    import numpy as np  # noqa: PLC0415 - imported by _start

    ex, minitorch, adapter = subs.execute, subs.minitorch, subs.adapter
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
        results, _, errors = ex.forward_backward(adapter, case, case.fn, arrays, item["dtype"], opts, douts=douts)
        if item["fd_seed"] is not None and "forward" not in errors and "backward" not in errors:
            grads = {k[5:]: v for k, v in results.items() if k.startswith("grad/")}
            try:
                results.update(ex.finite_differences(adapter, case, case.fn, arrays, opts, douts, grads,
                                                     item["fd_seed"]))
            except BaseException as e:  # noqa: BLE001
                errors["fd"] = ex.describe(e)
    except BaseException as e:  # noqa: BLE001
        errors["forward"] = ex.describe(e)
    return results, errors


def _run_lm(items, data, frames, protocol, describe):
    """The training-task items: the grader's NumPy GPT on the handed-in weights (``autograder.lm``);
    this process never imports the submission's ``minitorch``."""
    from autograder.lm import LMError  # noqa: PLC0415
    from autograder.lm import run_item as run_lm_item  # noqa: PLC0415

    for item in items:
        _send(frames, protocol.encode_start(item["index"]))
        results, errors = {}, {}
        try:
            results = run_lm_item(data, item["instance"])
        except LMError as e:
            errors["forward"] = str(e)
        except BaseException as e:  # noqa: BLE001
            errors["forward"] = describe(e)
        try:
            frame = protocol.encode_result(item["index"], results, errors)
        except BaseException as e:  # noqa: BLE001
            frame = protocol.encode_result(item["index"], {}, {"forward": "the results could not be sent back: "
                                                                          + describe(e)})
        _send(frames, frame)
    _send(frames, protocol.encode_done())
    os._exit(0)


def main():
    job_dir, start = sys.argv[1], int(sys.argv[2])
    frames = os.dup(1)  # the frames go to the pipe on stdout; student prints go to stderr
    os.dup2(2, 1)
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != HERE]
    _load_grader(os.path.dirname(HERE))  # a failure here: traceback on stderr, and the parent quotes it

    from autograder import protocol  # noqa: PLC0415

    try:
        job, registry, data, execute = _start(job_dir, protocol)
    except BaseException as e:  # noqa: BLE001 - the sandbox itself could not start: a grader problem
        _send(frames, protocol.encode_fatal(f"{type(e).__name__}: {e}"))
        os._exit(3)
    if job["lm"]:  # hw4's training task: grader code on a handed-in checkpoint, no student code imported
        _run_lm(job["items"][start:], data, frames, protocol, execute.describe)
    subs = Submissions(job["submissions"], job["required_files"], execute)
    for item in job["items"][start:]:
        _send(frames, protocol.encode_start(item["index"]))
        if item["group"] != subs.group:
            subs.switch(item["group"])
            _send(frames, protocol.encode_imported())
        if subs.error is not None:
            results, errors = {}, {"forward": subs.error}
        else:
            results, errors = run_item(item, registry, data, subs)
        try:
            frame = protocol.encode_result(item["index"], results, errors)
        except BaseException as e:  # noqa: BLE001 - e.g. results too large to pack
            frame = protocol.encode_result(item["index"], {}, {
                "forward": "the results could not be sent back: " + execute.describe(e)})
        _send(frames, frame)
    _send(frames, protocol.encode_done())
    os._exit(0)


if __name__ == "__main__":
    main()
