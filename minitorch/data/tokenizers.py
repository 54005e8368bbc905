"""Tokenizers: ``CharTokenizer`` (one id per character) and ``BPETokenizer`` (byte-pair encoding).

Both give an exact round trip (``decode(encode(text)) == text``), optional special tokens
(``<sos>``, ``<eos>``, ``<pad>``; they are never produced by ``encode`` from text, only added by
``add_special_tokens=True``) and save/load to a versioned JSON file. ``load_tokenizer(path)`` reads
either kind.

Id layout (so that a character model on TinyShakespeare has ids 0..64, as in nanoGPT):
- ``CharTokenizer``: the characters in the given order (sorted by code point for ``from_text``),
  then the special tokens.
- ``BPETokenizer``: the base characters (sorted), then the fallback tokens (256 byte tokens
  ``<0x00>``..``<0xFF>``, or one ``<unk>``), then one token per merge in merge order, then the
  special tokens.
"""
import heapq
import json
import os
import re
from collections import Counter

import numpy as np

from ..backend import to_numpy

FORMAT_NAME = "minitorch.tokenizer"
FORMAT_VERSION = 1
SOS, EOS, PAD, UNK = "<sos>", "<eos>", "<pad>", "<unk>"
DEFAULT_SPECIAL_TOKENS = (SOS, EOS, PAD)

# GPT-2's pre-tokenization with the standard library's ``re``: contractions, words with an optional
# leading space, numbers, punctuation runs (underscore included), whitespace; the final ``[\s\S]`` makes
# sure every character lands in some piece, so joining the pieces gives the text back exactly.
DEFAULT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+|[\s\S]"""


class TokenizerError(ValueError):
    """A text or id the tokenizer cannot handle, or a bad tokenizer file."""


def _check_special_tokens(special_tokens, owner):
    special_tokens = list(special_tokens or ())
    for tok in special_tokens:
        if not isinstance(tok, str) or len(tok) < 2:
            raise TokenizerError(
                f"{owner}: special tokens must be strings of at least 2 characters (e.g. '<eos>'), got {tok!r}"
            )
    if len(set(special_tokens)) != len(special_tokens):
        raise TokenizerError(f"{owner}: duplicate special tokens in {special_tokens}")
    return special_tokens


def _char_name(ch):
    return f"{ch!r} (U+{ord(ch):04X})"


class Tokenizer:
    """What both tokenizers share: special-token ids, ``__len__``, id checks and JSON save/load."""

    kind = None

    def _init_specials(self, first_special_id):
        self.special_tokens = list(self.special_tokens)
        self._special_to_id = {tok: first_special_id + i for i, tok in enumerate(self.special_tokens)}

    # ------------------------------------------------------------------ vocabulary facts
    def __len__(self):
        return self.vocab_size

    def token_to_id(self, token):
        """The id of a special token such as ``'<eos>'`` (None when absent)."""
        return self._special_to_id.get(token)

    @property
    def sos_id(self):
        return self._special_to_id.get(SOS)

    @property
    def eos_id(self):
        return self._special_to_id.get(EOS)

    @property
    def pad_id(self):
        return self._special_to_id.get(PAD)

    @property
    def special_ids(self):
        """Ids of all special tokens (e.g. to ban them during generation)."""
        return sorted(self._special_to_id.values())

    def _with_specials(self, ids, add_special_tokens):
        if not add_special_tokens:
            return ids
        missing = [t for t, i in ((SOS, self.sos_id), (EOS, self.eos_id)) if i is None]
        if missing:
            raise TokenizerError(
                f"{type(self).__name__}.encode(add_special_tokens=True): this tokenizer has no {missing} token; "
                f"its special tokens are {self.special_tokens}. Build it with special_tokens=('<sos>', '<eos>', ...)"
            )
        return [self.sos_id] + ids + [self.eos_id]

    def _ids_array(self, ids, owner):
        if hasattr(ids, "detach"):  # a minitorch (or torch) Tensor
            ids = ids.detach().numpy() if hasattr(ids, "numpy") else ids
        if hasattr(ids, "shape") and not isinstance(ids, np.ndarray):  # CuPy / strict-backend arrays
            ids = to_numpy(ids)
        arr = np.asarray(ids)
        if arr.size == 0:
            return np.zeros(0, dtype=np.int64)
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise TokenizerError(
                f"{owner}: expected a 1-D sequence of integer ids, got shape {arr.shape} and dtype {arr.dtype}"
            )
        bad = (arr < 0) | (arr >= self.vocab_size)
        if bad.any():
            pos = int(np.argmax(bad))
            raise TokenizerError(
                f"{owner}: id {int(arr[pos])} at position {pos} is out of range for a vocabulary of "
                f"{self.vocab_size} tokens"
            )
        return arr.astype(np.int64, copy=False)

    def encode_array(self, text, add_special_tokens=False):
        """``encode`` as a NumPy int64 array."""
        return np.asarray(self.encode(text, add_special_tokens=add_special_tokens), dtype=np.int64)

    def encode_iter(self, chunks):
        """Encode text arriving in pieces (e.g. a file read in blocks): yields int64 arrays whose concatenation
        equals ``encode_array("".join(chunks))``, whatever the chunk boundaries."""
        for chunk in chunks:
            yield self.encode_array(chunk)

    # ------------------------------------------------------------------ persistence
    def to_dict(self):
        raise NotImplementedError

    def save(self, path):
        """Write the tokenizer as JSON (atomically: a temporary file renamed over ``path``)."""
        path = os.fspath(path)
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, ensure_ascii=False)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path):
        """Read a tokenizer saved by ``save`` (checks that it is of this class)."""
        tok = load_tokenizer(path)
        if not isinstance(tok, cls):
            raise TokenizerError(f"{path}: holds a {type(tok).__name__}, not a {cls.__name__}")
        return tok

    def __eq__(self, other):
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    __hash__ = object.__hash__


# ====================================================================== characters
class CharTokenizer(Tokenizer):
    """One token per character.

    ``CharTokenizer.from_text(text, special_tokens=())`` takes the sorted set of characters of ``text``;
    ``CharTokenizer(chars, special_tokens)`` uses the given characters in the given order.
    Encoding a character outside the vocabulary is an error that names the character and its position."""

    kind = "char"

    def __init__(self, chars, special_tokens=()):
        chars = list(chars)
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise TokenizerError(f"CharTokenizer: the vocabulary must be single characters, got {c!r}")
        if len(set(chars)) != len(chars):
            dup = next(c for c, n in Counter(chars).items() if n > 1)
            raise TokenizerError(f"CharTokenizer: character {_char_name(dup)} appears twice in the vocabulary")
        if not chars:
            raise TokenizerError("CharTokenizer: the vocabulary is empty (was the text empty?)")
        self.chars = chars
        self.special_tokens = _check_special_tokens(special_tokens, "CharTokenizer")
        self.stoi = {c: i for i, c in enumerate(chars)}
        self.itos = chars + self.special_tokens
        self._init_specials(len(chars))
        codes = np.array([ord(c) for c in chars], dtype=np.int64)
        self._order = np.argsort(codes, kind="stable")
        self._sorted_codes = codes[self._order]

    @classmethod
    def from_text(cls, text, special_tokens=()):
        """The tokenizer whose vocabulary is every character of ``text``, sorted by code point."""
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer.from_text: expected a str, got {type(text).__name__}")
        return cls(sorted(set(text)), special_tokens)

    @property
    def vocab_size(self):
        return len(self.itos)

    def __repr__(self):
        return f"CharTokenizer(vocab_size={self.vocab_size}, special_tokens={self.special_tokens})"

    def _unknown(self, text, codes, found):
        pos = int(np.argmin(found))
        ch = chr(int(codes[pos]))
        shown = "".join(self.chars[:20]) + ("..." if len(self.chars) > 20 else "")
        return TokenizerError(
            f"CharTokenizer.encode: character {_char_name(ch)} at position {pos} is not in the vocabulary "
            f"of {len(self.chars)} characters ({shown!r})"
        )

    def encode_array(self, text, add_special_tokens=False):
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer.encode: expected a str, got {type(text).__name__}")
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.int64)
        idx = np.searchsorted(self._sorted_codes, codes)
        idx_c = np.minimum(idx, len(self._sorted_codes) - 1)
        found = self._sorted_codes[idx_c] == codes
        if not found.all():
            raise self._unknown(text, codes, found)
        ids = self._order[idx_c].astype(np.int64)
        if add_special_tokens:
            sos, eos = self._with_specials([], True)
            ids = np.concatenate([np.array([sos], dtype=np.int64), ids, np.array([eos], dtype=np.int64)])
        return ids

    def encode(self, text, add_special_tokens=False):
        """The list of ids of ``text`` (with ``<sos>``/``<eos>`` around it if ``add_special_tokens``)."""
        return self.encode_array(text, add_special_tokens).tolist()

    def decode(self, ids, skip_special_tokens=False):
        """The text of ``ids`` (a list, array or 1-D Tensor). Special tokens appear as their names
        (``'<eos>'``) unless ``skip_special_tokens``."""
        arr = self._ids_array(ids, "CharTokenizer.decode")
        if skip_special_tokens:
            arr = arr[arr < len(self.chars)]
        itos = self.itos
        return "".join([itos[i] for i in arr.tolist()])

    def to_dict(self):
        return {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "type": self.kind,
                "chars": self.chars, "special_tokens": self.special_tokens}

    @classmethod
    def from_dict(cls, d):
        _require_keys(d, ("chars", "special_tokens"), "char")
        return cls(d["chars"], d["special_tokens"])


# ====================================================================== byte-pair encoding
def _merge_word(syms, a, b, new):
    """``syms`` with every non-overlapping adjacent (a, b), left to right, replaced by ``new``."""
    out = []
    i, n = 0, len(syms)
    while i < n:
        if i < n - 1 and syms[i] == a and syms[i + 1] == b:
            out.append(new)
            i += 2
        else:
            out.append(syms[i])
            i += 1
    return out


class BPETokenizer(Tokenizer):
    """Byte-pair encoding over characters, with whitespace/punctuation pre-tokenization.

    ``BPETokenizer.train(text, vocab_size=...)`` (or ``num_merges=...``) learns merges from ``text``.
    Characters never seen in training are encoded as their UTF-8 bytes (``fallback="byte"``, the default:
    every text round-trips exactly) or as one ``<unk>`` token (``fallback="unk"``).
    Training is incremental (only the pre-tokenized words that contain the merged pair are updated) and
    deterministic: the most frequent pair wins, ties go to the pair with the smallest ids."""

    kind = "bpe"

    def __init__(self, chars, merges, special_tokens=(), fallback="byte", pattern=DEFAULT_PATTERN):
        if fallback not in ("byte", "unk"):
            raise TokenizerError(f"BPETokenizer: fallback must be 'byte' or 'unk', got {fallback!r}")
        chars = list(chars)
        if any(not isinstance(c, str) or len(c) != 1 for c in chars) or len(set(chars)) != len(chars):
            raise TokenizerError("BPETokenizer: chars must be distinct single characters")
        self.chars = chars
        self.fallback = fallback
        self.pattern = pattern
        self._re = re.compile(pattern)
        self.special_tokens = _check_special_tokens(special_tokens, "BPETokenizer")
        if fallback == "unk" and UNK in self.special_tokens:
            raise TokenizerError("BPETokenizer: '<unk>' is the fallback token already; do not list it as special")
        self.n_fallback = 256 if fallback == "byte" else 1
        self.merge_offset = len(chars) + self.n_fallback
        tokens = list(chars)  # the text of every non-fallback token, by id (fallback slots hold None)
        tokens += [None] * self.n_fallback
        self.merges = []
        self.ranks = {}
        for r, pair in enumerate(merges):
            if len(pair) != 2:
                raise TokenizerError(f"BPETokenizer: merge {r} is {pair!r}, expected a pair of ids")
            a, b = int(pair[0]), int(pair[1])
            new = self.merge_offset + r
            for x in (a, b):
                if not (0 <= x < new) or (len(chars) <= x < self.merge_offset):
                    raise TokenizerError(
                        f"BPETokenizer: merge {r} ({a}, {b}) refers to id {x}, which is not a character or an "
                        "earlier merge"
                    )
            if (a, b) in self.ranks:
                raise TokenizerError(f"BPETokenizer: merge ({a}, {b}) appears twice")
            self.merges.append((a, b))
            self.ranks[(a, b)] = r
            tokens.append(tokens[a] + tokens[b])
        self._texts = tokens
        self._init_specials(len(tokens))
        self.char_to_id = {c: i for i, c in enumerate(chars)}
        self.vocab_size = len(tokens) + len(self.special_tokens)
        # bytes of every id, for decoding
        id_bytes = [t.encode("utf-8", "surrogatepass") if t is not None else b"" for t in tokens]
        if fallback == "byte":
            for b in range(256):
                id_bytes[len(chars) + b] = bytes([b])
        else:
            id_bytes[len(chars)] = UNK.encode()
        id_bytes += [t.encode("utf-8") for t in self.special_tokens]
        self._id_bytes = id_bytes
        self._cache = {}

    @property
    def unk_id(self):
        return len(self.chars) if self.fallback == "unk" else None

    def id_to_token(self, i):
        """The text of token ``i``: its characters, ``'<0x0A>'`` for a byte token, or a special token's name."""
        i = int(self._ids_array([i], "BPETokenizer.id_to_token")[0])
        if i >= len(self._texts):
            return self.special_tokens[i - len(self._texts)]
        if self._texts[i] is not None:
            return self._texts[i]
        return f"<0x{i - len(self.chars):02X}>" if self.fallback == "byte" else UNK

    def __repr__(self):
        return (f"BPETokenizer(vocab_size={self.vocab_size}, chars={len(self.chars)}, merges={len(self.merges)}, "
                f"fallback={self.fallback!r}, special_tokens={self.special_tokens})")

    # ------------------------------------------------------------------ training
    @classmethod
    def train(cls, text, vocab_size=None, num_merges=None, special_tokens=(), fallback="byte",
              pattern=DEFAULT_PATTERN, min_frequency=2):
        """Learn merges from ``text``: give the total ``vocab_size`` (characters + fallback + merges +
        special tokens) or the number of merges. Stops early when no pair occurs ``min_frequency`` times."""
        if not isinstance(text, str) or not text:
            raise TokenizerError("BPETokenizer.train: expected a non-empty str of training text")
        if (vocab_size is None) == (num_merges is None):
            raise TokenizerError("BPETokenizer.train: give exactly one of vocab_size or num_merges")
        special_tokens = _check_special_tokens(special_tokens, "BPETokenizer.train")
        if fallback not in ("byte", "unk"):
            raise TokenizerError(f"BPETokenizer.train: fallback must be 'byte' or 'unk', got {fallback!r}")
        chars = sorted(set(text))
        n_fallback = 256 if fallback == "byte" else 1
        if num_merges is None:
            base = len(chars) + n_fallback + len(special_tokens)
            num_merges = vocab_size - base
            if num_merges < 0:
                raise TokenizerError(
                    f"BPETokenizer.train: vocab_size={vocab_size} is smaller than the base vocabulary of {base} "
                    f"({len(chars)} characters + {n_fallback} fallback + {len(special_tokens)} special tokens)"
                )
        if num_merges < 0:
            raise TokenizerError(f"BPETokenizer.train: num_merges must be >= 0, got {num_merges}")
        merges = _learn_merges(re.compile(pattern).findall(text), chars, len(chars) + n_fallback,
                               num_merges, min_frequency)
        return cls(chars, merges, special_tokens, fallback, pattern)

    # ------------------------------------------------------------------ encoding / decoding
    def _encode_piece(self, piece):
        ids = self._cache.get(piece)
        if ids is not None:
            return ids
        syms = []
        c2i = self.char_to_id
        for ch in piece:
            i = c2i.get(ch)
            if i is not None:
                syms.append(i)
            elif self.fallback == "byte":
                syms.extend(len(self.chars) + b for b in ch.encode("utf-8", "surrogatepass"))
            else:
                syms.append(len(self.chars))
        ranks = self.ranks
        while len(syms) > 1:
            best, best_rank = None, None
            for p in zip(syms, syms[1:]):
                r = ranks.get(p)
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = p, r
            if best is None:
                break
            syms = _merge_word(syms, best[0], best[1], self.merge_offset + best_rank)
        if len(self._cache) > 200_000:
            self._cache.clear()
        self._cache[piece] = syms
        return syms

    def encode(self, text, add_special_tokens=False):
        """The list of ids of ``text`` (with ``<sos>``/``<eos>`` around it if ``add_special_tokens``)."""
        if not isinstance(text, str):
            raise TypeError(f"BPETokenizer.encode: expected a str, got {type(text).__name__}")
        ids = []
        for piece in self._re.findall(text):
            ids.extend(self._encode_piece(piece))
        return self._with_specials(ids, add_special_tokens)

    def encode_iter(self, chunks, margin=16):
        """Encode text arriving in pieces: yields int64 arrays whose concatenation equals
        ``encode_array("".join(chunks))``. Pre-tokenized words that end within ``margin`` characters of a chunk's
        end (where the next chunk could change them) are carried over to the next chunk."""
        carry = ""
        for chunk in chunks:
            text = carry + chunk
            limit = len(text) - margin
            ids, cut = [], 0
            for m in self._re.finditer(text):
                if m.end() > limit:
                    break
                ids.extend(self._encode_piece(m.group()))
                cut = m.end()
            carry = text[cut:]
            if ids:
                yield np.asarray(ids, dtype=np.int64)
        if carry:
            yield self.encode_array(carry)

    def decode(self, ids, skip_special_tokens=False):
        """The text of ``ids``. Byte tokens are joined and decoded as UTF-8 (invalid sequences, which only a
        model can produce, become U+FFFD). Special tokens appear as their names unless ``skip_special_tokens``."""
        arr = self._ids_array(ids, "BPETokenizer.decode")
        if skip_special_tokens:
            arr = arr[arr < len(self._texts)]
        id_bytes = self._id_bytes
        return b"".join([id_bytes[i] for i in arr.tolist()]).decode("utf-8", errors="replace")

    def to_dict(self):
        return {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "type": self.kind,
                "chars": self.chars, "merges": [list(m) for m in self.merges], "fallback": self.fallback,
                "pattern": self.pattern, "special_tokens": self.special_tokens}

    @classmethod
    def from_dict(cls, d):
        _require_keys(d, ("chars", "merges", "fallback", "pattern", "special_tokens"), "bpe")
        return cls(d["chars"], d["merges"], d["special_tokens"], d["fallback"], d["pattern"])


def _learn_merges(pieces, chars, merge_offset, num_merges, min_frequency):
    """The merges (pairs of ids) of BPE on the pre-tokenized ``pieces``.

    Works on unique pieces with counts. Keeps the count of every adjacent pair and the words that contain
    it; a merge rewrites only those words and updates only the pair counts that changed. A max-heap with
    lazy deletion gives the best pair: highest count, then smallest (left id, right id)."""
    c2i = {c: i for i, c in enumerate(chars)}
    counts = Counter(pieces)
    words = [[c2i[c] for c in w] for w in counts]
    freqs = list(counts.values())
    pair_count = Counter()
    pair_words = {}
    for wi, (syms, f) in enumerate(zip(words, freqs)):
        for p in zip(syms, syms[1:]):
            pair_count[p] += f
            pair_words.setdefault(p, set()).add(wi)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    while len(merges) < num_merges and heap:
        neg, pair = heapq.heappop(heap)
        cur = pair_count.get(pair, 0)
        if cur != -neg:  # stale entry; the current count (if any) has its own entry
            continue
        if cur < max(min_frequency, 1):
            break
        new = merge_offset + len(merges)
        merges.append(pair)
        changed = Counter()
        a, b = pair
        for wi in pair_words.pop(pair, ()):
            syms = words[wi]
            if len(syms) < 2:
                continue
            merged = _merge_word(syms, a, b, new)
            if len(merged) == len(syms):
                continue
            f = freqs[wi]
            for p in zip(syms, syms[1:]):
                changed[p] -= f
            for p in zip(merged, merged[1:]):
                changed[p] += f
                if p[0] == new or p[1] == new:
                    pair_words.setdefault(p, set()).add(wi)
            words[wi] = merged
        for p, d in changed.items():
            if d == 0:
                continue
            c = pair_count[p] + d
            if c > 0:
                pair_count[p] = c
                heapq.heappush(heap, (-c, p))
            else:
                pair_count.pop(p, None)
                pair_words.pop(p, None)
    return merges


# ====================================================================== loading
_KINDS = {"char": CharTokenizer, "bpe": BPETokenizer}


def _require_keys(d, keys, kind):
    missing = [k for k in keys if k not in d]
    if missing:
        raise TokenizerError(f"{kind} tokenizer data is missing the keys {missing}")


def tokenizer_from_dict(d, source="tokenizer data"):
    """A tokenizer from the dict made by ``to_dict`` (checks format name, version and type)."""
    if not isinstance(d, dict) or d.get("format") != FORMAT_NAME:
        raise TokenizerError(
            f"{source}: not a minitorch tokenizer (expected a JSON object with \"format\": \"{FORMAT_NAME}\")"
        )
    version = d.get("format_version")
    if version != FORMAT_VERSION:
        raise TokenizerError(
            f"{source}: tokenizer format_version {version!r} is not supported (this minitorch reads version "
            f"{FORMAT_VERSION}); re-save it with a matching minitorch"
        )
    kind = d.get("type")
    if kind not in _KINDS:
        raise TokenizerError(f"{source}: unknown tokenizer type {kind!r} (expected one of {sorted(_KINDS)})")
    try:
        return _KINDS[kind].from_dict(d)
    except TokenizerError as e:
        raise TokenizerError(f"{source}: {e}") from None
    except (TypeError, ValueError) as e:
        raise TokenizerError(f"{source}: malformed {kind} tokenizer data ({e})") from None


def load_tokenizer(path_or_dict):
    """A ``CharTokenizer`` or ``BPETokenizer`` from a JSON file written by ``save`` (or its dict)."""
    if isinstance(path_or_dict, dict):
        return tokenizer_from_dict(path_or_dict)
    path = os.fspath(path_or_dict)
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"tokenizer file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TokenizerError(f"{path}: not a valid tokenizer JSON file ({e})") from None
    return tokenizer_from_dict(d, source=path)
