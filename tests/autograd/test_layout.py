"""How minitorch/autograd is put together: the import order documented in tensor.py's docstring, the
one late binding of the Tensor class (``function.bind_tensor_class``), and the import paths other code
relies on."""
import ast
import pathlib

import numpy as np
import pytest

import minitorch
from minitorch.autograd import function
from minitorch.autograd.functions import basic as B

AUTOGRAD = pathlib.Path(minitorch.__file__).parent / "autograd"
# modules that tensor.py imports: they must not import it back, nor anything that imports it
BELOW_TENSOR = ["grad_mode", "function", "engine", "dtypes", "shapes", "indexing", "formatting", "joining", "norms",
                "functions/basic", "functions/nn", "functions/extra", "functions/attention", "functions/linalg",
                "functions/recurrent", "functions/binary_loss"]
ABOVE_TENSOR = {"tensor", "ops", "factories"}


def _module_of(path):
    return ".".join(("minitorch", "autograd") + path.relative_to(AUTOGRAD).with_suffix("").parts)


def _autograd_imports(path):
    """The autograd modules (as 'name' or 'functions/name') that ``path`` imports, anywhere in its code."""
    package = _module_of(path).split(".")[:-1]
    modules = {str(p.relative_to(AUTOGRAD).with_suffix("")) for p in AUTOGRAD.rglob("*.py")}
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            base = ".".join(base + ([node.module] if node.module else []))
            candidates = [base] + [f"{base}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        for c in candidates:
            parts = c.split(".")
            if parts[:2] == ["minitorch", "autograd"] and len(parts) > 2:
                rel = "/".join(parts[2:4])
                found.update({rel, parts[2]} & modules)
    return found


def test_every_module_is_placed_in_the_documented_order():
    listed = set(BELOW_TENSOR) | ABOVE_TENSOR | {"__init__", "functions/__init__"}
    actual = {str(p.relative_to(AUTOGRAD).with_suffix("")) for p in AUTOGRAD.rglob("*.py")}
    assert actual == listed, "place new autograd modules in tensor.py's import-order docstring and in this test"


@pytest.mark.parametrize("name", BELOW_TENSOR)
def test_modules_below_tensor_never_import_it(name):
    imported = _autograd_imports(AUTOGRAD / f"{name}.py")
    assert not imported & ABOVE_TENSOR, f"{name}.py imports {sorted(imported & ABOVE_TENSOR)}"


def test_the_import_scanner_sees_imports():
    """The check above would pass vacuously if the scanner missed imports."""
    assert {"ops", "factories", "joining", "tensor"} <= _autograd_imports(AUTOGRAD / "__init__.py")
    assert {"function", "functions/basic", "dtypes", "joining", "norms", "engine"} <= _autograd_imports(
        AUTOGRAD / "tensor.py")
    assert "tensor" in _autograd_imports(AUTOGRAD / "ops.py")


def test_function_and_engine_use_the_bound_tensor_class():
    assert function.Tensor is minitorch.Tensor
    x = minitorch.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()  # the engine makes .grad through function.Tensor
    assert type(x.grad) is minitorch.Tensor and type(x * x) is minitorch.Tensor


def test_the_unbound_stand_in_raises_a_clear_error():
    """Before tensor.py binds the class, using it says what happened instead of failing on None."""
    with pytest.raises(RuntimeError, match="before minitorch.autograd.tensor bound the Tensor class"):
        function._UnboundTensor._make(np.zeros(2))
    with pytest.raises(RuntimeError, match="bind_tensor_class"):
        isinstance(1, function._UnboundTensor)
    with pytest.raises(TypeError, match="expected the Tensor class"):
        function.bind_tensor_class(None)


def test_where_is_a_function_class_of_its_own():
    assert issubclass(B.Where, minitorch.Function)
    assert {"forward", "backward"} <= set(vars(B.Where))  # defined in the class, not patched in afterwards
    a = minitorch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = minitorch.tensor([10.0, 20.0, 30.0], requires_grad=True)
    out = B.Where.apply(a, b, condition=np.array([True, False, True]))
    assert out.tolist() == [1.0, 20.0, 3.0] and out.grad_fn.name == "Where"
    out.sum().backward()
    assert a.grad.tolist() == [1.0, 0.0, 1.0] and b.grad.tolist() == [0.0, 1.0, 0.0]


def test_public_import_paths_keep_working():
    from minitorch.autograd import joining, ops
    from minitorch.autograd.tensor import (
        MaxResult,  # noqa: F401
        Tensor,  # noqa: F401
        as_dtype,
        cat,
        concat,
        parse_to_args,  # noqa: F401
        split,
        stack,
        zero_grads,  # noqa: F401
    )

    assert minitorch.cat is cat is concat is joining.cat and minitorch.concat is cat
    assert minitorch.stack is stack and minitorch.split is split
    assert minitorch.where is ops.where and minitorch.einsum is ops.einsum
    assert as_dtype("float32") == np.float32
