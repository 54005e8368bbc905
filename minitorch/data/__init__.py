"""The data layer: tokenizers, language-modelling datasets, batching and corpora.

```python
from minitorch.data import load_corpus, CharTokenizer, train_val_split, RandomBatchSampler
text = load_corpus("tinyshakespeare")          # or "python-stdlib" (offline), or a file path
tok = CharTokenizer.from_text(text)
train, val = train_val_split(tok.encode_array(text), val_fraction=0.1)
batches = RandomBatchSampler(train, block_size=64, batch_size=12, seed=1337)
x, y = batches()                                # int64 Tensors (12, 64)
```
"""
from .corpora import (
    CORPORA,
    TINYSHAKESPEARE_SHA256,
    TINYSHAKESPEARE_URL,
    CorpusError,
    cache_dir,
    load_corpus,
    python_stdlib_text,
    tinyshakespeare_path,
)
from .dataloader import DataLoader, RandomBatchSampler, default_collate, get_batch
from .datasets import (
    IGNORE_INDEX,
    LineDataset,
    LMDataset,
    load_token_file,
    pad_collate,
    tokenize_file,
    train_val_split,
    write_token_file,
)
from .tokenizers import (
    DEFAULT_SPECIAL_TOKENS,
    EOS,
    PAD,
    SOS,
    UNK,
    BPETokenizer,
    CharTokenizer,
    Tokenizer,
    TokenizerError,
    load_tokenizer,
    tokenizer_from_dict,
)

__all__ = [
    "CORPORA", "TINYSHAKESPEARE_SHA256", "TINYSHAKESPEARE_URL", "CorpusError", "cache_dir", "load_corpus",
    "python_stdlib_text", "tinyshakespeare_path", "DataLoader", "RandomBatchSampler", "default_collate", "get_batch",
    "IGNORE_INDEX", "LineDataset", "LMDataset", "load_token_file", "pad_collate", "tokenize_file",
    "train_val_split", "write_token_file", "DEFAULT_SPECIAL_TOKENS", "EOS", "PAD", "SOS", "UNK", "BPETokenizer",
    "CharTokenizer", "Tokenizer", "TokenizerError", "load_tokenizer", "tokenizer_from_dict",
]
