"""LMDataset (in memory and memory-mapped), token files, LineDataset + padding, position split, DataLoader,
random batches."""
import numpy as np
import pytest

import minitorch
from minitorch.data import (
    BPETokenizer,
    CharTokenizer,
    DataLoader,
    LineDataset,
    LMDataset,
    RandomBatchSampler,
    default_collate,
    get_batch,
    load_token_file,
    pad_collate,
    tokenize_file,
    train_val_split,
    write_token_file,
)


def _tokens(n=200, vocab=50, seed=0):
    return np.random.default_rng(seed).integers(0, vocab, size=n)


def _np(t):
    assert isinstance(t, minitorch.Tensor)
    assert t.dtype == np.int64
    return t.numpy()


# ====================================================================== LMDataset
@pytest.mark.parametrize("block_size", [1, 8])
def test_lm_dataset_windows(block_size):
    tok = _tokens()
    ds = LMDataset(tok, block_size)
    assert len(ds) == len(tok) - block_size
    for i in (0, 1, 57, len(ds) - 1, -1):
        x, y = ds[i]
        s = i % len(ds)
        np.testing.assert_array_equal(_np(x), tok[s:s + block_size])
        np.testing.assert_array_equal(_np(y), tok[s + 1:s + block_size + 1])
    x, y = ds[len(ds) - 1]
    assert _np(y)[-1] == tok[-1]  # the last window ends at the last token


def test_lm_dataset_get_batch_equals_items_and_stride():
    tok = _tokens()
    ds = LMDataset(tok, 6)
    idx = [5, 0, 193, 5]
    x, y = ds.get_batch(idx)
    assert x.shape == y.shape == (4, 6)
    for r, i in enumerate(idx):
        np.testing.assert_array_equal(_np(x)[r], _np(ds[i][0]))
        np.testing.assert_array_equal(_np(y)[r], _np(ds[i][1]))
    disjoint = LMDataset(tok, 10, stride=10)
    assert len(disjoint) == 19  # windows start at 0, 10, ..., 180 (190 would need token 200)
    np.testing.assert_array_equal(_np(disjoint[3][0]), tok[30:40])


def test_lm_dataset_errors():
    with pytest.raises(ValueError, match="too few for one window of block_size=10"):
        LMDataset(np.arange(10), 10)
    with pytest.raises(ValueError, match="1-D sequence of token ids, got shape"):
        LMDataset(np.zeros((4, 4), dtype=np.int64), 2)
    with pytest.raises(ValueError, match="must be integers"):
        LMDataset(np.zeros(10), 2)
    with pytest.raises(ValueError, match="block_size must be a positive int"):
        LMDataset(np.arange(10), 0)
    ds = LMDataset(np.arange(10), 3)
    with pytest.raises(IndexError, match="index 7 is out of range for 7 windows"):
        ds[7]
    with pytest.raises(IndexError, match="out of range"):
        ds.get_batch([0, -8])


# ====================================================================== token files
def test_token_file_round_trip_memmap(tmp_path):
    tok = _tokens(5000, vocab=300)
    path = write_token_file(tmp_path / "train.npy", tok)
    mm = load_token_file(path)
    assert isinstance(mm, np.memmap) and mm.dtype == np.uint16 and mm.shape == (5000,)
    np.testing.assert_array_equal(mm, tok)
    a, b = LMDataset(tok, 16), LMDataset(path, 16)
    assert len(a) == len(b)
    for i in (0, 17, len(a) - 1):
        np.testing.assert_array_equal(_np(a[i][0]), _np(b[i][0]))
        np.testing.assert_array_equal(_np(a[i][1]), _np(b[i][1]))
    np.testing.assert_array_equal(_np(a.get_batch([3, 9])[1]), _np(b.get_batch([3, 9])[1]))


def test_token_file_chunked_and_wide_ids(tmp_path):
    tok = _tokens(1000, vocab=70_000)
    path = write_token_file(tmp_path / "t.npy", (tok[i:i + 77] for i in range(0, 1000, 77)))
    mm = load_token_file(path)
    assert mm.dtype == np.uint32
    np.testing.assert_array_equal(mm, tok)
    assert write_token_file(tmp_path / "w.npy", tok) and load_token_file(tmp_path / "w.npy").dtype == np.uint32
    with pytest.raises(ValueError, match="does not fit in dtype uint16"):
        write_token_file(tmp_path / "x.npy", tok, dtype=np.uint16)
    with pytest.raises(ValueError, match=">= 0"):
        write_token_file(tmp_path / "x.npy", [1, -2])
    assert not (tmp_path / "x.npy").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.npy", "w.npy"]  # no temporary files left


def test_raw_bin_file_like_nanogpt(tmp_path):
    tok = _tokens(300)
    tok.astype(np.uint16).tofile(tmp_path / "train.bin")
    np.testing.assert_array_equal(load_token_file(tmp_path / "train.bin"), tok)
    with pytest.raises(FileNotFoundError, match="token file not found"):
        load_token_file(tmp_path / "missing.npy")


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_tokenize_file_equals_whole_text(tmp_path, kind):
    text = "".join(f"line {i}: the {'quick' if i % 3 else 'slow'} fox,  don't\n\n  {i * 37}\t\n" for i in range(400))
    src = tmp_path / "corpus.txt"
    src.write_text(text, encoding="utf-8")
    tok = CharTokenizer.from_text(text) if kind == "char" else BPETokenizer.train(text, num_merges=50)
    mm = tokenize_file(tok, src, tmp_path / "corpus.npy", chunk_chars=997)
    np.testing.assert_array_equal(mm, tok.encode_array(text))
    assert tok.decode(np.asarray(mm)) == text


# ====================================================================== split
def test_train_val_split_by_position():
    tok = np.arange(1000)
    train, val = train_val_split(tok, 0.1)
    assert len(train) == 900 and len(val) == 100
    assert train[-1] + 1 == val[0]  # contiguous, no overlap: the tail is validation
    assert np.shares_memory(train, tok)  # a view, not a copy
    text_train, text_val = train_val_split("abcdefghij", 0.2)
    assert (text_train, text_val) == ("abcdefgh", "ij")
    with pytest.raises(ValueError, match="val_fraction must be in"):
        train_val_split(tok, 1.0)


def test_split_windows_never_cross():
    tok = np.arange(500)
    train, val = train_val_split(tok)
    ds = LMDataset(train, 32)
    assert max(_np(ds[len(ds) - 1][1])) == train[-1] < val[0]


def test_shakespeare_split_sizes(shakespeare):
    ids = CharTokenizer.from_text(shakespeare).encode_array(shakespeare)
    train, val = train_val_split(ids, val_fraction=0.1)
    assert (len(train), len(val)) == (1_003_854, 111_540)


# ====================================================================== lines and padding
LINES = ["to be", "", "or not to be", "a"]


def _line_tok():
    return CharTokenizer.from_text("".join(LINES), special_tokens=("<sos>", "<eos>", "<pad>"))


def test_line_dataset_wraps_each_line():
    tok = _line_tok()
    ds = LineDataset(LINES, tok)
    assert len(ds) == 3  # the empty line is skipped
    x, y = ds[0]
    ids = [tok.sos_id] + tok.encode("to be") + [tok.eos_id]
    assert _np(x).tolist() == ids[:-1] and _np(y).tolist() == ids[1:]
    assert len(LineDataset(LINES, tok, skip_empty=False)) == 4
    short = LineDataset(LINES, tok, max_length=4)
    assert _np(short[1][0]).tolist() == [tok.sos_id] + tok.encode("or ")[:2]
    assert len(LineDataset("to be\nor not", tok)) == 2


def test_pad_collate_pads_inputs_with_pad_and_targets_with_ignore_index():
    tok = _line_tok()
    ds = LineDataset(LINES, tok)
    x, y = pad_collate([ds[2], ds[1]], tok.pad_id)
    assert x.shape == y.shape == (2, len("or not to be") + 1)
    xa, ya = _np(x), _np(y)
    assert xa[0, 2:].tolist() == [tok.pad_id] * (xa.shape[1] - 2)
    assert ya[0, :2].tolist() == [tok.stoi["a"], tok.eos_id]
    assert ya[0, 2:].tolist() == [-100] * (xa.shape[1] - 2)
    assert xa[1].tolist() == _np(ds[1][0]).tolist() and ya[1].tolist() == _np(ds[1][1]).tolist()
    # the loss ignores exactly the padded positions
    assert int((ya != -100).sum()) == len(ds[2][1]) + len(ds[1][1])
    with pytest.raises(ValueError, match="empty batch"):
        pad_collate([], 0)


def test_line_dataset_needs_special_tokens():
    with pytest.raises(ValueError, match=r"no \['<sos>', '<eos>', '<pad>'\]"):
        LineDataset(LINES, CharTokenizer.from_text("tobe rn"))


def test_line_dataloader_uses_padding_collate():
    tok = _line_tok()
    ds = LineDataset(LINES * 3, tok)
    batches = list(DataLoader(ds, batch_size=4))
    assert [b[0].shape[0] for b in batches] == [4, 4, 1]
    row = 0
    for x, y in batches:
        xa, ya = _np(x), _np(y)
        for r in range(len(xa)):
            ex, ey = _np(ds[row][0]), _np(ds[row][1])
            n = len(ex)
            assert xa[r, :n].tolist() == ex.tolist() and (xa[r, n:] == tok.pad_id).all()
            assert ya[r, :n].tolist() == ey.tolist() and (ya[r, n:] == -100).all()
            row += 1
    assert row == len(ds)


# ====================================================================== DataLoader
class _Squares:
    def __len__(self):
        return 10

    def __getitem__(self, i):
        return np.array([i, i * i]), i


def test_dataloader_order_batches_and_drop_last():
    dl = DataLoader(_Squares(), batch_size=4)
    batches = list(dl)
    assert len(dl) == len(batches) == 3
    x, i = batches[-1]
    assert _np(x).tolist() == [[8, 64], [9, 81]] and _np(i).tolist() == [8, 9]
    dl = DataLoader(_Squares(), batch_size=4, drop_last=True)
    assert len(dl) == len(list(dl)) == 2


def test_dataloader_shuffle_seeded_and_resumable():
    ds = LMDataset(np.arange(40), 3)
    a = DataLoader(ds, batch_size=5, shuffle=True, seed=7)
    b = DataLoader(ds, batch_size=5, shuffle=True, seed=7)
    ea, eb = [_np(x) for x, _ in a], [_np(x) for x, _ in b]
    assert all((p == q).all() for p, q in zip(ea, eb))
    firsts = np.concatenate([x[:, 0] for x in ea])
    assert sorted(firsts.tolist()) == list(range(37)) and firsts.tolist() != list(range(37))
    state = a.state_dict()
    epoch2 = [_np(x) for x, _ in a]
    assert not all((p == q).all() for p, q in zip(epoch2, ea))  # a new permutation every epoch
    c = DataLoader(ds, batch_size=5, shuffle=True, seed=123)
    c.load_state_dict(state)
    assert all((p == q).all() for p, q in zip([_np(x) for x, _ in c], epoch2))
    # no seed: drawn from minitorch's global generator, so manual_seed makes it repeatable
    minitorch.manual_seed(3)
    d1 = [_np(x) for x, _ in DataLoader(ds, batch_size=5, shuffle=True)]
    minitorch.manual_seed(3)
    d2 = [_np(x) for x, _ in DataLoader(ds, batch_size=5, shuffle=True)]
    assert all((p == q).all() for p, q in zip(d1, d2))


@pytest.mark.parametrize("shuffle", [True, False])
def test_dataloader_resumes_mid_epoch(shuffle):
    ds = LMDataset(np.arange(60), 4)
    a = DataLoader(ds, batch_size=5, shuffle=shuffle, seed=3)
    first_epoch = [_np(x) for x, _ in a]
    it = iter(a)
    head = [_np(next(it)[0]) for _ in range(4)]
    state = a.state_dict()
    assert state["batches_done"] == 4
    rest = [_np(x) for x, _ in it]
    third = [_np(x) for x, _ in a]
    b = DataLoader(ds, batch_size=5, shuffle=shuffle, seed=99)
    b.load_state_dict(state)
    resumed = [_np(x) for x, _ in b]
    assert len(resumed) == len(rest) == len(b) - 4
    assert all((p == q).all() for p, q in zip(resumed, rest))
    assert all((p == q).all() for p, q in zip([_np(x) for x, _ in b], third))
    assert b.epoch == a.epoch == 3
    if shuffle:
        assert not all((p == q).all() for p, q in zip(head, first_epoch[:4]))


def test_dataloader_custom_collate_and_errors():
    dl = DataLoader(_Squares(), batch_size=3, collate_fn=lambda b: [s[1] for s in b])
    assert next(iter(dl)) == [0, 1, 2]
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(_Squares(), batch_size=0)
    with pytest.raises(TypeError, match="len"):
        DataLoader(object())


def test_default_collate_kinds():
    out = default_collate([{"a": 1.5, "b": "x"}, {"a": 2.0, "b": "y"}])
    assert out["b"] == ["x", "y"] and out["a"].dtype == np.float32
    t = default_collate([minitorch.tensor([1, 2]), minitorch.tensor([3, 4])])
    assert _np(t).tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match=r"sample 1 has shape \(3,\) but sample 0 has \(2,\).*pad_collate"):
        default_collate([np.arange(2), np.arange(3)])


# ====================================================================== random batches
def test_get_batch_matches_nanogpt_semantics():
    data = np.arange(1000) * 3
    gen = np.random.default_rng(5)
    x, y = get_batch(data, 8, 12, generator=gen)
    assert x.shape == y.shape == (12, 8)
    ix = np.random.default_rng(5).integers(0, 1000 - 8, size=12)
    np.testing.assert_array_equal(_np(x), np.stack([data[i:i + 8] for i in ix]))
    np.testing.assert_array_equal(_np(y), np.stack([data[i + 1:i + 9] for i in ix]))
    with pytest.raises(ValueError, match="too few for block_size=8"):
        get_batch(np.arange(8), 8, 2)


def test_random_batch_sampler_seeded_resumable_and_memmap(tmp_path):
    data = _tokens(2000, vocab=60)
    path = write_token_file(tmp_path / "d.npy", data)
    s1 = RandomBatchSampler(data, 16, 4, seed=11)
    s2 = RandomBatchSampler(path, 16, 4, seed=11)
    for _ in range(3):
        (x1, y1), (x2, y2) = s1(), s2()
        np.testing.assert_array_equal(_np(x1), _np(x2))
        np.testing.assert_array_equal(_np(y1), _np(y2))
        np.testing.assert_array_equal(_np(x1)[:, 1:], _np(y1)[:, :-1])
    state = s1.state_dict()
    expected = [_np(s1()[0]) for _ in range(3)]
    s3 = RandomBatchSampler(data, 16, 4, seed=999)
    s3.load_state_dict(state)
    got = [_np(x) for x, _ in (next(it) for it in [iter(s3)] * 3)]
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(e, g)
    # offsets cover the whole valid range [0, len - block_size)
    starts = np.concatenate([_np(RandomBatchSampler(np.arange(20), 4, 64, seed=s)()[0])[:, 0] for s in range(5)])
    assert set(starts.tolist()) == set(range(16))


def test_padding_is_ignored_by_the_loss():
    """Cross-entropy (ignore_index=-100) on a padded batch equals the mean over the real tokens of each line."""
    from minitorch.nn import functional as F

    tok = _line_tok()
    ds = LineDataset(LINES, tok)
    x, y = pad_collate([ds[i] for i in range(len(ds))], tok.pad_id)
    logits = np.random.default_rng(0).standard_normal(x.shape + (tok.vocab_size,))
    padded = F.cross_entropy(minitorch.tensor(logits.reshape(-1, tok.vocab_size)), y.reshape(-1)).item()
    losses = []
    for r in range(len(ds)):
        n = len(ds[r][1])
        lp = logits[r, :n] - np.log(np.exp(logits[r, :n]).sum(-1, keepdims=True))
        losses.extend(-lp[np.arange(n), _np(ds[r][1])])
    assert padded == pytest.approx(np.mean(losses), rel=1e-6)
