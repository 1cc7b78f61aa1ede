"""Per-domain evaluation: answer-token loss and exact-match accuracy of greedy answers.

Both functions run the model in eval mode without gradients and restore every submodule's
own training flag afterwards.

:func:`domain_losses`
    Mean token negative log-likelihood over the answer tokens (labels ``!= -100``, Hugging
    Face shift) of each domain, token-weighted: the sum of the domain's token NLLs divided by
    its number of answer tokens. Position ids follow the attention mask, so left- and
    right-padded batches give the same losses. The vocabulary projection runs at answer
    positions only where that is exact (:func:`llm_minibatch.features.head.target_logits`).
:func:`exact_match`
    Greedy decoding from ``bos + prompt`` (batched, left padding with explicit position ids,
    no KV cache: simple and exact), stopped at ``eos`` or after ``max_new_tokens``; a hit when
    the decoded text equals the answer (both stripped of surrounding whitespace).

Examples
--------
>>> from llm_minibatch.evaluation import domain_losses, exact_match
>>> from llm_minibatch.models import tiny_llama
>>> from llm_minibatch.tokenization import ByteTokenizer, encode_examples
>>> tok, model = ByteTokenizer(), tiny_llama(hidden_size=32, layers=2)
>>> ex = [{"prompt": "1+1=", "answer": "2", "domain": "math"},
...       {"prompt": "sort 2 1: ", "answer": "1 2", "domain": "sorting"}]
>>> losses = domain_losses(model, encode_examples(ex, tok), [e["domain"] for e in ex])
>>> sorted(losses), all(v > 0 for v in losses.values())
(['math', 'sorting'], True)
>>> exact_match(model, ex, tok, max_new_tokens=4)  # an untrained model
{'math': 0.0, 'sorting': 0.0}
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int

from .features.head import target_logits
from .tokenization import IGNORE_INDEX, _example_list, _special_ids, _token_ids

__all__ = ["domain_losses", "exact_match"]


@contextlib.contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    before = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for m, flag in before:
            m.training = flag


def _device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def _is_encoded(obj: Any) -> bool:
    return isinstance(obj, Mapping) and "input_ids" in obj and not isinstance(
        obj["input_ids"], Mapping)


def _tensor(encoded: Mapping, key: str, where: str) -> torch.Tensor | None:
    v = encoded.get(key)
    if v is None:
        return None
    t = torch.as_tensor(v)
    if t.dim() != 2:
        raise InvalidInputError(f"{where}: {key!r} must be 2-D (N, T), got {tuple(t.shape)}")
    return t


def _row_losses(model: nn.Module, encoded: Mapping, where: str, batch_size: int
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row (sum of answer-token NLL, number of answer tokens)."""
    if not _is_encoded(encoded):
        raise InvalidInputError(
            f"{where}: expected an encoded batch with 'input_ids' and 'labels' "
            "(see llm_minibatch.tokenization.encode_examples)"
        )
    ids = _tensor(encoded, "input_ids", where)
    labels = _tensor(encoded, "labels", where)
    if labels is None:
        raise InvalidInputError(f"{where}: the encoded batch has no 'labels'")
    mask = _tensor(encoded, "attention_mask", where)
    if labels.shape != ids.shape or (mask is not None and mask.shape != ids.shape):
        raise InvalidInputError(
            f"{where}: 'labels' and 'attention_mask' must have the shape of 'input_ids' "
            f"{tuple(ids.shape)}"
        )
    device = _device(model)
    sums, counts = [], []
    for start in range(0, ids.shape[0], batch_size):
        sl = slice(start, start + batch_size)
        x = ids[sl].to(device=device, dtype=torch.long)
        y = labels[sl].to(device=device, dtype=torch.long)
        kw = {}
        if mask is not None:  # explicit positions keep left-padded rows exact
            m = mask[sl].to(device=device, dtype=torch.long)
            kw = {"attention_mask": m, "position_ids": (m.cumsum(dim=1) - 1).clamp(min=0)}
        logits, targets, rows = target_logits(model, y, input_ids=x, **kw)
        nll = F.cross_entropy(logits.float(), targets, reduction="none").double()
        n = x.shape[0]
        sums.append(torch.zeros(n, dtype=torch.float64, device=device)
                    .index_add(0, rows, nll).cpu())
        counts.append(torch.bincount(rows, minlength=n).cpu())
    return torch.cat(sums), torch.cat(counts)


def domain_losses(model: nn.Module, data: Any, domains: Sequence[Any] | None = None, *,
                  batch_size: int = 64) -> dict[Any, float]:
    """Mean answer-token negative log-likelihood per domain.

    Parameters
    ----------
    model : torch.nn.Module
        A causal LM returning ``.logits`` (Hugging Face or peft).
    data : mapping or encoded batch
        Either ``{domain: encoded_batch}`` or one encoded batch (the output of
        :func:`~llm_minibatch.tokenization.encode_examples`: ``input_ids``, ``labels``,
        optional ``attention_mask``) together with ``domains``; the pair
        ``(encoded_batch, domains)`` may also be passed as ``data``.
    domains : sequence, optional
        Domain of each row of the encoded batch.
    batch_size : int, default 64
        Rows per forward pass.

    Returns
    -------
    dict
        ``{domain: loss}`` in order of first appearance: each domain's summed token NLL over
        its answer tokens divided by their number (token-weighted).

    Raises
    ------
    InvalidInputError
        Wrong shapes, ``domains`` of the wrong length or missing, or a domain without any
        answer token.

    Examples
    --------
    >>> import torch
    >>> from llm_minibatch.models import tiny_llama
    >>> from llm_minibatch.tokenization import ByteTokenizer, encode_examples
    >>> model, tok = tiny_llama(hidden_size=32, layers=2), ByteTokenizer()
    >>> enc = encode_examples([{"prompt": "a", "answer": "b"}], tok)
    >>> loss = domain_losses(model, {"x": enc})["x"]
    >>> ref = model(**enc).loss.item()  # the Hugging Face loss of the same tokens
    >>> abs(loss - ref) < 1e-5
    True
    """
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if domains is None and isinstance(data, tuple) and len(data) == 2:
        data, domains = data
    parts: list[tuple[Any, Mapping, Sequence[Any] | None]] = []
    if _is_encoded(data):
        if domains is None:
            raise InvalidInputError(
                "domains: required with a single encoded batch (one label per row); "
                "or pass data as {domain: encoded_batch}"
            )
        parts.append((None, data, list(domains)))
    elif isinstance(data, Mapping):
        if domains is not None:
            raise InvalidInputError(
                "domains: not used when data is a mapping {domain: encoded_batch}"
            )
        if not data:
            raise InvalidInputError("data: expected at least one domain, got an empty mapping")
        parts.extend((d, enc, None) for d, enc in data.items())
    else:
        raise InvalidInputError(
            "data: expected {domain: encoded_batch}, an encoded batch with domains, or the "
            f"pair (encoded_batch, domains), got {type(data).__name__}"
        )
    totals: dict[Any, list[float]] = {}
    with _eval_mode(model):
        for domain, enc, labels in parts:
            where = "data" if domain is None else f"data[{domain!r}]"
            sums, counts = _row_losses(model, enc, where, batch_size)
            if labels is None:
                labels = [domain] * len(sums)
            elif len(labels) != len(sums):
                raise InvalidInputError(
                    f"domains: expected {len(sums)} labels (one per row), got {len(labels)}"
                )
            for d, s, c in zip(labels, sums.tolist(), counts.tolist()):
                acc = totals.setdefault(d, [0.0, 0])
                acc[0] += s
                acc[1] += c
    empty = [d for d, (_, c) in totals.items() if c == 0]
    if empty:
        raise InvalidInputError(
            f"data: domains {empty} have no answer token (every label is {IGNORE_INDEX})"
        )
    return {d: s / c for d, (s, c) in totals.items()}


def _greedy(model: nn.Module, prompts: list[list[int]], pad: int, eos: int,
            max_new_tokens: int) -> list[list[int]]:
    """Greedy continuation of each prompt (left padded), cut at the first eos (excluded)."""
    device = _device(model)
    width = max(len(p) for p in prompts)
    n = len(prompts)
    ids = torch.full((n, width), pad, dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    for r, p in enumerate(prompts):
        ids[r, width - len(p):] = torch.tensor(p, dtype=torch.long)
        mask[r, width - len(p):] = 1
    ids, mask = ids.to(device), mask.to(device)
    done = torch.zeros(n, dtype=torch.bool, device=device)
    new: list[torch.Tensor] = []
    for _ in range(max_new_tokens):
        pos = (mask.cumsum(dim=1) - 1).clamp(min=0)
        logits = model(input_ids=ids, attention_mask=mask, position_ids=pos,
                       use_cache=False).logits[:, -1]
        nxt = logits.argmax(dim=-1)
        nxt = torch.where(done, torch.full_like(nxt, eos), nxt)
        new.append(nxt)
        done |= nxt == eos
        ids = torch.cat([ids, nxt[:, None]], dim=1)
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
        if bool(done.all()):
            break
    out = torch.stack(new, dim=1).tolist() if new else [[] for _ in range(n)]
    return [row[:row.index(eos)] if eos in row else row for row in out]


def exact_match(model: nn.Module, examples: Sequence[Mapping[str, Any]], tokenizer: Any, *,
                max_new_tokens: int = 16, batch_size: int = 32, max_length: int | None = None,
                return_predictions: bool = False) -> Any:
    """Exact-match accuracy per domain of greedy answers.

    Each prompt is encoded as ``[bos] + prompt`` (no bos when the tokenizer has none),
    continued greedily until ``eos`` or ``max_new_tokens`` new tokens, decoded with
    ``skip_special_tokens=True``, and compared to the answer after stripping surrounding
    whitespace on both sides. An answer needs ``len(answer tokens) + 1`` new tokens (its
    ``eos``) to count.

    Parameters
    ----------
    model : torch.nn.Module
        A causal LM returning ``.logits`` and accepting ``position_ids``.
    examples : sequence of dict
        With ``"prompt"``, ``"answer"`` and ``"domain"`` (missing domain: ``"all"``).
    tokenizer : ByteTokenizer or Hugging Face tokenizer
    max_new_tokens : int, default 16
    batch_size : int, default 32
        Prompts decoded together.
    max_length : int, optional
        Cap on ``prompt + new tokens``; longer prompts lose tokens from the left (bos kept).
    return_predictions : bool, default False
        Also return the decoded predictions, in input order.

    Returns
    -------
    dict or (dict, list of str)
        ``{domain: accuracy in [0, 1]}`` in order of first appearance (and the predictions).

    Raises
    ------
    InvalidInputError
        No examples, an example without str prompt/answer, bad sizes.

    Examples
    --------
    >>> from llm_minibatch.models import tiny_llama
    >>> from llm_minibatch.tokenization import ByteTokenizer
    >>> model = tiny_llama(hidden_size=32, layers=2)
    >>> acc, preds = exact_match(model, [{"prompt": "hi ", "answer": "yo"}], ByteTokenizer(),
    ...                          max_new_tokens=3, return_predictions=True)
    >>> acc, len(preds)
    ({'all': 0.0}, 1)
    """
    max_new_tokens = check_int(max_new_tokens, "max_new_tokens", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if max_length is not None:
        max_length = check_int(max_length, "max_length", minimum=max_new_tokens + 1)
    examples = _example_list(examples)
    bos, eos, pad = _special_ids(tokenizer)
    head = [] if bos is None else [int(bos)]
    prompts, answers, domains = [], [], []
    for i, ex in enumerate(examples):
        if not isinstance(ex, Mapping) or not isinstance(ex.get("prompt"), str) \
                or not isinstance(ex.get("answer"), str):
            raise InvalidInputError(
                f"examples: item {i} must be a dict with str 'prompt' and 'answer'"
            )
        p = _token_ids(tokenizer, ex["prompt"])
        if max_length is not None:
            room = max_length - max_new_tokens - len(head)
            p = p[max(0, len(p) - room):] if room > 0 else []
        if not head and not p:
            raise InvalidInputError(
                f"examples: item {i} has an empty prompt and the tokenizer has no bos token; "
                "there is nothing to continue"
            )
        prompts.append(head + p)
        answers.append(ex["answer"])
        domains.append(ex.get("domain", "all"))
    preds: list[str] = []
    with _eval_mode(model):
        for start in range(0, len(prompts), batch_size):
            gen = _greedy(model, prompts[start:start + batch_size], pad, eos, max_new_tokens)
            preds.extend(tokenizer.decode(g, skip_special_tokens=True) for g in gen)
    hits: dict[Any, list[int]] = {}
    for d, pred, ans in zip(domains, preds, answers):
        acc = hits.setdefault(d, [0, 0])
        acc[0] += int(pred.strip() == ans.strip())
        acc[1] += 1
    scores = {d: h / n for d, (h, n) in hits.items()}
    return (scores, preds) if return_predictions else scores
