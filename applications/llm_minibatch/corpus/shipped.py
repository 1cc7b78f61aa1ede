"""The shipped corpus: ``make_corpus(CORPUS_SIZES, seed=CORPUS_SEED)`` as package data, and
the script that rewrites it (``python -m llm_minibatch.corpus.shipped --regenerate``)."""
from __future__ import annotations

import argparse
import importlib.resources
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .generators import CORPUS_SEED, CORPUS_SIZES, make_corpus
from .loaders import write_jsonl

__all__ = ["load_corpus"]

_CORPUS_FILE = "corpus.jsonl"


def _shipped_corpus():
    return importlib.resources.files("llm_minibatch").joinpath("corpus", _CORPUS_FILE)


def load_corpus() -> list[dict[str, str]]:
    """The shipped corpus: ``make_corpus(CORPUS_SIZES, seed=CORPUS_SEED)``, read from package data.

    Returns
    -------
    list of dict
        2800 ``{"prompt", "answer", "domain"}`` dicts (arithmetic 1200, units 800,
        sorting 500, smiles 300).

    Examples
    --------
    >>> corpus = load_corpus()
    >>> len(corpus), corpus[0].keys() == {"prompt", "answer", "domain"}
    (2800, True)
    """
    resource = _shipped_corpus()
    with resource.open("r", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]




# --------------------------------------------------------------------------- script
def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m llm_minibatch.corpus.shipped",
        description="Rewrite the shipped corpus from make_corpus(CORPUS_SIZES, CORPUS_SEED).",
    )
    parser.add_argument("--regenerate", action="store_true",
                        help="rewrite the corpus file (default: only report where it lives)")
    parser.add_argument("--output", type=Path, default=None,
                        help="write here instead of the package's corpus/corpus.jsonl")
    args = parser.parse_args(argv)
    target = args.output or Path(__file__).resolve().parent / _CORPUS_FILE
    if not args.regenerate:
        print(f"corpus file: {target} (pass --regenerate to rewrite it)")
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    corpus = make_corpus(CORPUS_SIZES, seed=CORPUS_SEED)
    write_jsonl(corpus, target)
    print(f"wrote {len(corpus)} examples to {target} ({target.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
