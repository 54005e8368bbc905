"""minitorch.graphviz_draw.draw_graph: the tape behind a tensor drawn with Graphviz (rendered by the real dot), module
boxes, the node cap, gradients; python -m minitorch.viz graph."""
import re
import shutil

import pytest

import minitorch as mt
from minitorch import nn
from minitorch.cli import viz as viz_cli
from minitorch.graphviz_draw import draw_graph, record_scopes, save_graph

graphviz = pytest.importorskip("graphviz")
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")


def svg_nodes_edges(svg):
    """(titles of nodes, (src, dst) of edges) in an SVG written by dot: node ids, not labels."""
    nodes = re.findall(r'<g id="node\d+" class="node">\s*<title>([^<]*)</title>', svg)
    edges = [tuple(t.replace("&#45;&gt;", "->").split("->"))
             for t in re.findall(r'<g id="edge\d+" class="edge">\s*<title>([^<]*)</title>', svg)]
    return nodes, edges


def n_nodes(g):
    return len(re.findall(r"^\t\w+ \[label=", g.source, flags=re.M))


def svg_texts(svg):
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


def mlp():
    mt.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))


@needs_dot
def test_small_graph_rendered_by_dot_has_the_ops_leaves_and_forward_edges(tmp_path):
    a = mt.tensor([1.0, 2.0], requires_grad=True)
    b = mt.tensor([3.0, 4.0], requires_grad=True)
    loss = (a * b + a).sum()
    g = draw_graph(loss, params={"a": a, "b": b})
    svg = g.pipe(format="svg").decode()
    nodes, edges = svg_nodes_edges(svg)
    texts = svg_texts(svg)
    assert len(nodes) == 6  # Sum, Add, Mul, a, b, output
    assert {"Sum", "Add", "Mul", "a", "b", "output"} <= set(texts)
    assert texts.count("requires_grad=True") == 2 and "(2) float32" in texts
    # name -> node id, through the source (the SVG keeps ids in titles)
    ids = {}
    for node_id, text in re.findall(r'\t(\w+) \[label="?([A-Za-z]+)', g.source):
        ids[text] = node_id
    expect = {("a", "Mul"), ("b", "Mul"), ("Mul", "Add"), ("a", "Add"), ("Add", "Sum"), ("Sum", "output")}
    got = {(next(k for k, v in ids.items() if v == s), next(k for k, v in ids.items() if v == d))
           for s, d in edges}
    assert got == expect
    out = save_graph(g, str(tmp_path / "g.svg"))
    assert open(out, encoding="utf-8").read().startswith("<?xml")


def test_leaves_are_named_from_the_model_and_inputs_marked():
    m = mlp()
    loss = m(mt.randn(5, 3)).sum()
    src = draw_graph(loss, model=m).source
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert f'"{name}\n' in src
    assert "input\n(5, 3) float32\nrequires_grad=False" in src
    assert src.count("Linear") == 2 and "Tanh" in src and "Sum" in src


def test_grads_after_backward_with_retain_graph_and_freed_graph_error():
    m = mlp()
    loss = (m(mt.randn(5, 3)) ** 2).mean()
    loss.backward(retain_graph=True)
    src = draw_graph(loss, model=m, show_grads=True).source
    w = m[0].weight
    norm = float((w.grad * w.grad).sum().item()) ** 0.5
    assert f"grad (4, 3) norm {norm:.4g}" in src
    assert "norm" not in draw_graph(loss, model=m).source
    loss2 = m(mt.randn(2, 3)).sum()
    loss2.backward()
    with pytest.raises(RuntimeError, match="freed by backward.*retain_graph=True"):
        draw_graph(loss2)


def test_module_boxes_with_depth_and_node_cap_message():
    from minitorch import models

    model = models.GPT(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8)
    x = mt.tensor([[1, 2, 3, 4]])
    with record_scopes(model) as scopes:
        loss = model(x).sum()
    full = draw_graph(loss, model=model)
    n_full = n_nodes(full)
    boxed = draw_graph(loss, model=model, scopes=scopes, depth=0)
    assert n_nodes(boxed) < n_full / 3
    for block in ("transformer.h.0 (TransformerDecoderBlock)", "transformer.h.1 (TransformerDecoderBlock)"):
        assert block in boxed.source
    assert "module boxes (depth=0)" in boxed.minitorch_note
    assert "transformer.h.0.attn.c_attn.weight" not in boxed.source  # inside its block's box
    assert "transformer.wpe.weight" in draw_graph(loss, scopes=scopes).source  # names from the scopes' model
    capped = draw_graph(loss, model=model, scopes=scopes, max_nodes=20)
    assert n_full > 21 and n_nodes(capped) <= 21 and "collapsed" in capped.minitorch_note
    assert "max_nodes=20" in capped.source
    cut = draw_graph(loss, model=model, max_nodes=10)
    assert "more nodes not drawn" in cut.source and "left out" in cut.minitorch_note
    assert n_nodes(cut) == 11  # 9 nodes + the note + output
    with pytest.raises(ValueError, match="record_scopes"):
        draw_graph(loss, model=model, depth=1)


def test_scopes_are_off_after_the_block():
    from minitorch.autograd import function

    m = mlp()
    with record_scopes(m):
        m(mt.randn(1, 3)).sum()
    assert function.record_hooks == []
    for module in m.modules():
        assert not module.__dict__.get("_forward_hooks") and not module.__dict__.get("_forward_pre_hooks")


@needs_dot
def test_graph_cli_draws_one_training_step(tmp_path, capsys):
    from tests.test_cli import TINY, make_corpus, run_train

    corpus = make_corpus(tmp_path / "c.txt")
    run_train(["--preset", "rnn", "--corpus", corpus, *TINY, "--max-iters", "2", "--eval-interval", "2",
               "--out-dir", str(tmp_path / "run")])
    out = tmp_path / "graph.svg"
    viz_cli.main(["graph", "--checkpoint", str(tmp_path / "run" / "best.ckpt"), "-o", str(out), "--seq-len", "4"])
    svg = out.read_text(encoding="utf-8")
    texts = svg_texts(svg)
    assert "CrossEntropy" in texts and "output" in texts
    assert any(t.startswith("embedding.weight") or t == "embedding.weight" for t in texts)
    assert any(t.startswith("grad (") for t in texts)
    capsys.readouterr()
    with pytest.raises(SystemExit):
        viz_cli.main(["graph", "--checkpoint", str(tmp_path / "run" / "best.ckpt"), "-o", str(tmp_path / "g.jpg")])
    assert "unknown format" in capsys.readouterr().err


def test_missing_dot_or_graphviz_is_one_line(tmp_path, capsys, monkeypatch):
    import builtins

    from minitorch import graphviz_draw

    ckpt = tmp_path / "none.ckpt"
    monkeypatch.setattr(graphviz_draw.shutil, "which", lambda name: None)
    with pytest.raises(SystemExit) as exc:
        viz_cli.main(["graph", "--checkpoint", str(ckpt), "-o", str(tmp_path / "g.svg")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1
    assert "needs Graphviz's dot program" in err and "apt-get install graphviz" in err
    m = mlp()
    g = draw_graph(m(mt.randn(1, 3)).sum())  # the source needs no dot
    save_graph(g, str(tmp_path / "g.gv"))
    assert (tmp_path / "g.gv").read_text(encoding="utf-8").startswith("digraph")
    with pytest.raises(RuntimeError, match="needs Graphviz's dot program"):
        save_graph(g, str(tmp_path / "g.svg"))
    real_import = builtins.__import__

    def no_graphviz(name, *args, **kwargs):
        if name == "graphviz":
            raise ImportError("No module named 'graphviz'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_graphviz)
    with pytest.raises(SystemExit):
        viz_cli.main(["graph", "--checkpoint", str(ckpt), "-o", str(tmp_path / "g.gv")])
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "graphviz Python package" in err and "pip install graphviz" in err
    with pytest.raises(ImportError, match="pip install graphviz"):
        draw_graph(mt.ones(1, requires_grad=True).sum())
