"""The embedded multi-domain instruction corpus and loaders for user data.

Every example is a plain dict ``{"prompt": str, "answer": str, "domain": str}``; a model sees
``bos + prompt + answer + eos`` and is trained (and scored) on the answer only, so each prompt
ends with its separator (a space).

Generated domains
-----------------
Four small task families with exact, checkable answers. Texts are short (prompt + answer at
most 48 bytes, answer at most 15 bytes) so byte-level sequences stay short and a greedy decode of
16 new tokens always has room for the answer and the end-of-sequence token.

``arithmetic``
    Word problems with one operation: ``"Tom has 3 apples and buys 4. How many? "`` → ``"7"``
    (also ``loses`` → difference, ``buys 3 bags of 4`` → product).
``smiles``
    Edits of SMILES-like strings over the atoms ``C N O S`` with ``=`` bonds and one level of
    ``( )`` branches (no ring digits, no two-letter atoms, so every task is a plain character
    operation): ``"reverse CCO(N): "`` → ``"N)OCC("`` (character reversal),
    ``"count C in CCOC: "`` → ``"3"`` (character count), ``"replace O with N in CCOC: "`` →
    ``"CCNC"`` (every occurrence).
``units``
    Integer unit conversions, both ways: ``"3 km in m? "`` → ``"3000"``,
    ``"120 min in h? "`` → ``"2"`` (the division is always exact).
``sorting``
    ``"sort 3 1 2: "`` → ``"1 2 3"`` and ``"sort desc 3 1 2: "`` → ``"3 2 1"`` (3 to 5 numbers
    below 100, single spaces).

:func:`make_corpus` draws unique prompts per domain, deterministically from a seed (one stream
per domain, so the size of one domain does not change the examples of another), and
:func:`train_val_split` splits stratified by domain. The package ships ``corpus/corpus.jsonl``
(:data:`CORPUS_SIZES`, seed :data:`CORPUS_SEED`; deliberately imbalanced), read by
:func:`load_corpus`; ``python -m llm_minibatch.corpus.shipped --regenerate`` rewrites it.

User data
---------
:func:`load_jsonl` (one JSON object per line) and :func:`load_hf_dataset` (Hugging Face
``datasets``: a hub name, a local data directory, or a local ``.jsonl``/``.json``/``.csv``/
``.parquet`` file) return the same normalised dicts. A missing domain (prompt, answer) column
is reported before anything is loaded further, naming the argument that selects it and listing
the columns that exist.

Examples
--------
>>> from llm_minibatch.corpus import make_corpus, train_val_split
>>> corpus = make_corpus({"arithmetic": 6, "sorting": 4}, seed=1)
>>> len(corpus), sorted({ex["domain"] for ex in corpus})
(10, ['arithmetic', 'sorting'])
>>> train, val = train_val_split(corpus, val_fraction=0.25)
>>> len(train), len(val)
(7, 3)
"""

from .generators import (
    CORPUS_SEED,
    CORPUS_SIZES,
    DOMAINS,
    GENERATORS,
    arithmetic_example,
    make_corpus,
    smiles_example,
    sorting_example,
    units_example,
)
from .loaders import load_hf_dataset, load_jsonl, train_val_split, write_jsonl
from .shipped import load_corpus

__all__ = [
    "CORPUS_SEED",
    "CORPUS_SIZES",
    "DOMAINS",
    "GENERATORS",
    "arithmetic_example",
    "load_corpus",
    "load_hf_dataset",
    "load_jsonl",
    "make_corpus",
    "smiles_example",
    "sorting_example",
    "train_val_split",
    "units_example",
    "write_jsonl",
]
