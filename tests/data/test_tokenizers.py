"""CharTokenizer and BPETokenizer: vocabulary, exact round trip, special tokens, errors, save/load, and BPE
training checked against a from-scratch reference implementation."""
import json
import re
import time
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch
from minitorch.data import BPETokenizer, CharTokenizer, TokenizerError, load_tokenizer
from minitorch.data.tokenizers import DEFAULT_PATTERN

SAMPLE = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n"
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
with_surrogates = st.text(max_size=30)


# ====================================================================== CharTokenizer
def test_char_vocab_is_sorted_characters_then_specials():
    tok = CharTokenizer.from_text("hello world", special_tokens=("<sos>", "<eos>", "<pad>"))
    assert tok.chars == [" ", "d", "e", "h", "l", "o", "r", "w"]
    assert tok.vocab_size == len(tok) == 11
    assert (tok.sos_id, tok.eos_id, tok.pad_id) == (8, 9, 10)
    assert tok.special_ids == [8, 9, 10]
    assert tok.encode("hello") == [3, 2, 4, 4, 5]
    assert tok.encode("hello", add_special_tokens=True) == [8, 3, 2, 4, 4, 5, 9]
    assert tok.decode([8, 3, 2, 9]) == "<sos>he<eos>"
    assert tok.decode([8, 3, 2, 9, 10], skip_special_tokens=True) == "he"


def test_char_without_specials_has_no_special_ids():
    tok = CharTokenizer.from_text("abc")
    assert tok.sos_id is None and tok.eos_id is None and tok.pad_id is None
    with pytest.raises(TokenizerError, match="no .*<sos>"):
        tok.encode("ab", add_special_tokens=True)


def test_char_explicit_order_is_kept():
    tok = CharTokenizer(["z", "a", "é"])
    assert tok.encode("aéz") == [1, 2, 0]
    assert tok.decode(np.array([2, 1, 0])) == "éaz"


def test_char_shakespeare_vocab_and_round_trip(shakespeare):
    tok = CharTokenizer.from_text(shakespeare)
    assert tok.vocab_size == 65
    assert tok.chars[:2] == ["\n", " "] and tok.chars[-1] == "z"
    ids = tok.encode_array(shakespeare)
    assert ids.dtype == np.int64 and ids.shape == (1115394,)
    assert ids[:5].tolist() == [tok.stoi[c] for c in "First"]
    assert tok.decode(ids) == shakespeare


@settings(max_examples=60, deadline=None)
@given(text=any_text.filter(bool), extra=any_text)
def test_char_round_trip_any_text(text, extra):
    tok = CharTokenizer.from_text(text + extra, special_tokens=("<eos>",))
    assert tok.decode(tok.encode(text)) == text
    assert tok.encode(text) == [tok.stoi[c] for c in text]


@settings(max_examples=30, deadline=None)
@given(text=with_surrogates.filter(bool))
def test_char_round_trip_even_lone_surrogates(text):
    tok = CharTokenizer.from_text(text)
    assert tok.decode(tok.encode(text)) == text


def test_char_unknown_character_error_names_it_and_its_position():
    tok = CharTokenizer.from_text("abc ")
    with pytest.raises(TokenizerError, match=r"'é' \(U\+00E9\) at position 3 is not in the vocabulary of 4"):
        tok.encode("abcé")


def test_char_decode_errors():
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(TokenizerError, match="id 7 at position 1 is out of range for a vocabulary of 3"):
        tok.decode([0, 7])
    with pytest.raises(TokenizerError, match="id -1"):
        tok.decode([-1])
    with pytest.raises(TokenizerError, match="1-D sequence of integer ids"):
        tok.decode(np.zeros((2, 2), dtype=np.int64))
    assert tok.decode([]) == ""


def test_char_decode_accepts_tensors():
    tok = CharTokenizer.from_text("abc")
    assert tok.decode(minitorch.tensor([2, 1, 0])) == "cba"


def test_char_constructor_errors():
    with pytest.raises(TokenizerError, match="appears twice"):
        CharTokenizer(["a", "b", "a"])
    with pytest.raises(TokenizerError, match="single characters"):
        CharTokenizer(["ab"])
    with pytest.raises(TokenizerError, match="empty"):
        CharTokenizer.from_text("")
    with pytest.raises(TokenizerError, match="duplicate special"):
        CharTokenizer(["a"], special_tokens=("<eos>", "<eos>"))


def test_char_save_load(tmp_path):
    tok = CharTokenizer.from_text(SAMPLE + "ünï", special_tokens=("<sos>", "<eos>", "<pad>"))
    path = tok.save(tmp_path / "tok.json")
    data = json.loads(open(path, encoding="utf-8").read())
    assert data["format"] == "minitorch.tokenizer" and data["format_version"] == 1 and data["type"] == "char"
    back = CharTokenizer.load(path)
    assert back == tok and back.encode(SAMPLE) == tok.encode(SAMPLE)
    assert back.pad_id == tok.pad_id
    assert isinstance(load_tokenizer(path), CharTokenizer)
    assert load_tokenizer(tok.to_dict()) == tok


# ====================================================================== file errors (both kinds)
@pytest.mark.parametrize("content, message", [
    ("{not json", "not a valid tokenizer JSON"),
    ("[1, 2]", "not a minitorch tokenizer"),
    (json.dumps({"format": "something-else"}), "not a minitorch tokenizer"),
    (json.dumps({"format": "minitorch.tokenizer", "format_version": 99, "type": "char"}), "format_version 99"),
    (json.dumps({"format": "minitorch.tokenizer", "format_version": 1, "type": "wordpiece"}), "unknown tokenizer type"),
    (json.dumps({"format": "minitorch.tokenizer", "format_version": 1, "type": "char"}), "missing the keys"),
    (json.dumps({"format": "minitorch.tokenizer", "format_version": 1, "type": "bpe", "chars": ["a", "b"],
                 "merges": [[0, 9]], "fallback": "byte", "pattern": ".", "special_tokens": []}), "merge 0"),
])
def test_load_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TokenizerError, match=message) as info:
        load_tokenizer(path)
    assert str(path) in str(info.value)


def test_load_missing_file_and_wrong_class(tmp_path):
    with pytest.raises(FileNotFoundError, match="tokenizer file not found"):
        load_tokenizer(tmp_path / "nope.json")
    path = CharTokenizer.from_text("ab").save(tmp_path / "c.json")
    with pytest.raises(TokenizerError, match="holds a CharTokenizer, not a BPETokenizer"):
        BPETokenizer.load(path)


# ====================================================================== BPE: reference implementation
def _reference_merges(text, chars, offset, num_merges, min_frequency=2):
    """Textbook BPE: recount every pair over all words at every step; most frequent pair, ties -> smallest ids."""
    c2i = {c: i for i, c in enumerate(chars)}
    counts = Counter(re.findall(DEFAULT_PATTERN, text))
    seqs = {w: [c2i[c] for c in w] for w in counts}
    merges = []
    for k in range(num_merges):
        pairs = Counter()
        for w, f in counts.items():
            s = seqs[w]
            for i in range(len(s) - 1):
                pairs[(s[i], s[i + 1])] += f
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        if pairs[best] < min_frequency:
            break
        merges.append(best)
        new = offset + k
        for w in seqs:
            s, out, i = seqs[w], [], 0
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == best:
                    out.append(new)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = out
    return merges


def _reference_encode(tok, text):
    """Apply the merges in training order to each pre-tokenized word."""
    ids = []
    for piece in re.findall(tok.pattern, text):
        s = []
        for ch in piece:
            if ch in tok.char_to_id:
                s.append(tok.char_to_id[ch])
            else:
                s.extend(len(tok.chars) + b for b in ch.encode("utf-8"))
        for r, (a, b) in enumerate(tok.merges):
            out, i = [], 0
            while i < len(s):
                if i + 1 < len(s) and s[i] == a and s[i + 1] == b:
                    out.append(tok.merge_offset + r)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            s = out
        ids.extend(s)
    return ids


def _tie_heavy_text(seed, n=3000):
    rng = np.random.default_rng(seed)
    return "".join(rng.choice(list("ab c\n."), size=n, p=[0.3, 0.3, 0.1, 0.2, 0.05, 0.05]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bpe_merges_equal_reference(seed):
    text = _tie_heavy_text(seed) + SAMPLE * 3
    tok = BPETokenizer.train(text, num_merges=60)
    ref = _reference_merges(text, tok.chars, tok.merge_offset, 60)
    assert tok.merges == ref
    assert len(tok.merges) == 60


def test_bpe_encode_equals_sequential_merges():
    text = _tie_heavy_text(3) + SAMPLE * 4
    tok = BPETokenizer.train(text, num_merges=40)
    probe = SAMPLE + " abba c.ab\n  aab " + _tie_heavy_text(9, 400)
    assert tok.encode(probe) == _reference_encode(tok, probe)


def test_bpe_is_deterministic_and_stops_at_min_frequency():
    a = BPETokenizer.train(SAMPLE * 2, num_merges=200)
    b = BPETokenizer.train(SAMPLE * 2, num_merges=200)
    assert a.merges == b.merges
    # SAMPLE is short: the pairs run out of repeats (count >= 2) long before 200 merges, and training stops there
    assert 0 < len(a.merges) < 200
    assert a.merges == _reference_merges(SAMPLE * 2, a.chars, a.merge_offset, 200)


def test_bpe_vocab_size_target_and_layout():
    tok = BPETokenizer.train(SAMPLE * 5, vocab_size=len(set(SAMPLE)) + 256 + 20 + 3,
                             special_tokens=("<sos>", "<eos>", "<pad>"))
    n_chars = len(set(SAMPLE))
    assert tok.vocab_size == n_chars + 256 + 20 + 3 and len(tok.merges) == 20
    assert tok.chars == sorted(set(SAMPLE))
    assert tok.id_to_token(n_chars) == "<0x00>" and tok.id_to_token(n_chars + 10) == "<0x0A>"
    assert tok.merge_offset == n_chars + 256
    first = tok.merges[0]
    assert tok.id_to_token(tok.merge_offset) == tok.id_to_token(first[0]) + tok.id_to_token(first[1])
    assert (tok.sos_id, tok.eos_id, tok.pad_id) == tuple(range(tok.vocab_size - 3, tok.vocab_size))
    assert tok.id_to_token(tok.eos_id) == "<eos>"
    ids = tok.encode("Speak", add_special_tokens=True)
    assert ids[0] == tok.sos_id and ids[-1] == tok.eos_id
    assert tok.decode(ids, skip_special_tokens=True) == "Speak"
    assert tok.decode(ids) == "<sos>Speak<eos>"


def test_bpe_train_errors():
    with pytest.raises(TokenizerError, match="smaller than the base vocabulary"):
        BPETokenizer.train(SAMPLE, vocab_size=100)
    with pytest.raises(TokenizerError, match="exactly one of vocab_size or num_merges"):
        BPETokenizer.train(SAMPLE)
    with pytest.raises(TokenizerError, match="non-empty str"):
        BPETokenizer.train("", num_merges=3)
    with pytest.raises(TokenizerError, match="fallback must be"):
        BPETokenizer.train(SAMPLE, num_merges=3, fallback="drop")


def test_bpe_merges_stay_inside_pretokenized_words():
    tok = BPETokenizer.train(SAMPLE * 10 + "don't we'll it's 123 4567 __init__ x_y\t\t\n", num_merges=150)
    for r in range(len(tok.merges)):
        text = tok.id_to_token(tok.merge_offset + r)
        assert re.findall(DEFAULT_PATTERN, text) == [text], text


@settings(max_examples=60, deadline=None)
@given(text=any_text)
def test_bpe_round_trip_with_byte_fallback(text):
    tok = _small_bpe()
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert all(0 <= i < tok.vocab_size for i in ids)


@settings(max_examples=60, deadline=None)
@given(text=any_text)
def test_pretokenizer_covers_every_character(text):
    assert "".join(re.findall(DEFAULT_PATTERN, text)) == text


_SMALL = {}


def _small_bpe():
    if "tok" not in _SMALL:
        _SMALL["tok"] = BPETokenizer.train(SAMPLE * 4 + " the then there", num_merges=30)
    return _SMALL["tok"]


def test_bpe_unseen_characters_use_their_utf8_bytes():
    tok = _small_bpe()
    ids = tok.encode("é☃")
    assert ids == [len(tok.chars) + b for b in "é☃".encode("utf-8")]
    assert tok.decode(ids) == "é☃"
    # a model can emit a broken byte sequence: decoding replaces it instead of failing
    assert tok.decode([len(tok.chars) + 0xE2]) == "\ufffd"


def test_bpe_unk_fallback():
    tok = BPETokenizer.train(SAMPLE * 3, num_merges=10, fallback="unk")
    assert tok.unk_id == len(tok.chars) and tok.merge_offset == len(tok.chars) + 1
    ids = tok.encode("Speak é.")
    assert ids.count(tok.unk_id) == 1
    assert tok.decode(ids) == "Speak <unk>."


def test_bpe_save_load(tmp_path):
    tok = BPETokenizer.train(SAMPLE * 4, num_merges=25, special_tokens=("<eos>",))
    path = tok.save(tmp_path / "bpe.json")
    back = BPETokenizer.load(path)
    assert back == tok
    assert back.merges == tok.merges and back.vocab_size == tok.vocab_size and back.eos_id == tok.eos_id
    probe = SAMPLE + "unseen ẞ"
    assert back.encode(probe) == tok.encode(probe)


@pytest.mark.parametrize("chunk", [1, 5, 17, 300])
def test_bpe_encode_iter_matches_whole_text(chunk):
    tok = BPETokenizer.train(SAMPLE * 6 + "don't  we'll\r\n\r\n  x", num_merges=40)
    text = (SAMPLE + "don't   we'll  \r\n\n  it's 12 345\t\tx__y " + _tie_heavy_text(4, 300)) * 2
    pieces = [text[i:i + chunk] for i in range(0, len(text), chunk)]
    got = np.concatenate(list(tok.encode_iter(pieces)))
    np.testing.assert_array_equal(got, tok.encode_array(text))


def test_bpe_shakespeare_500_merges_under_30s(shakespeare):
    t0 = time.perf_counter()
    tok = BPETokenizer.train(shakespeare, num_merges=500)
    elapsed = time.perf_counter() - t0
    assert elapsed < 30, f"training 500 merges took {elapsed:.1f} s"
    assert len(tok.merges) == 500 and tok.vocab_size == 65 + 256 + 500
    assert tok.id_to_token(tok.merge_offset) == " t"  # the most frequent pair
    ids = tok.encode(shakespeare[:200_000])
    assert tok.decode(ids) == shakespeare[:200_000]
    assert len(ids) < 0.5 * 200_000  # 500 merges more than halve the sequence
