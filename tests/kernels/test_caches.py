"""Kernel caches are named: a forward whose cache holds several values returns an ``<Op>Cache`` named tuple
(defined in its module, outside the solution regions, each field described in its docstring), and no kernel
reads a cache by position (``cache[3]``, ``a, b = cache``)."""
import ast
import importlib
import os
import pkgutil

import pytest

import minitorch.kernels

KERNELS_DIR = os.path.dirname(minitorch.kernels.__file__)
MODULES = sorted(m.name for m in pkgutil.iter_modules([KERNELS_DIR]))


def _tree(name):
    with open(os.path.join(KERNELS_DIR, name + ".py"), encoding="utf-8") as f:
        return ast.parse(f.read())


def _functions(tree):
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _is_cache(node):
    return isinstance(node, ast.Name) and node.id == "cache"


@pytest.mark.parametrize("name", MODULES)
def test_no_kernel_reads_its_cache_by_position(name):
    bad = []
    for fn in _functions(_tree(name)):
        for node in ast.walk(fn):
            if isinstance(node, ast.Subscript) and _is_cache(node.value):
                bad.append(f"{fn.name}:{node.lineno}: cache[...]")
            elif isinstance(node, ast.Assign) and _is_cache(node.value) and \
                    any(isinstance(t, (ast.Tuple, ast.List)) for t in node.targets):
                bad.append(f"{fn.name}:{node.lineno}: unpacks the cache by position")
            elif isinstance(node, ast.Starred) and _is_cache(node.value):
                bad.append(f"{fn.name}:{node.lineno}: *cache")
    assert not bad, f"minitorch/kernels/{name}.py reads caches by position (use cache.<field>): {bad}"


@pytest.mark.parametrize("name", MODULES)
def test_no_forward_returns_a_plain_tuple_as_its_cache(name):
    bad = []
    for fn in _functions(_tree(name)):
        if not fn.name.endswith("_forward"):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and len(node.value.elts) == 2 \
                    and isinstance(node.value.elts[1], ast.Tuple):
                bad.append(f"{fn.name}:{node.lineno}")
    assert not bad, f"minitorch/kernels/{name}.py returns tuple caches (make an <Op>Cache named tuple): {bad}"


def _cache_classes():
    out = []
    for name in MODULES:
        mod = importlib.import_module(f"minitorch.kernels.{name}")
        for attr, obj in vars(mod).items():
            if attr.endswith("Cache") and isinstance(obj, type) and issubclass(obj, tuple) \
                    and obj.__module__ == mod.__name__:
                out.append(pytest.param(obj, id=f"{name}.{attr}"))
    return out


CACHE_CLASSES = _cache_classes()


def test_the_kernels_define_their_cache_classes():
    names = {p.values[0].__name__ for p in CACHE_CLASSES}
    assert {"AttentionCache", "LSTMCache", "CrossEntropyCache", "LayerNormCache", "MulCache"} <= names
    assert len(names) >= 40


@pytest.mark.parametrize("cls", CACHE_CLASSES)
def test_every_cache_field_is_described_in_the_docstring(cls):
    doc = cls.__doc__ or ""
    assert not doc.startswith(f"{cls.__name__}("), f"{cls.__name__} keeps namedtuple's default docstring"
    missing = [f for f in cls._fields if f not in doc]
    assert not missing, f"{cls.__name__}'s docstring does not describe {missing}"
    assert len(cls._fields) > 1, f"{cls.__name__}: a cache of one value is that value itself"
