"""Byte-level tokenizer and the encoding of prompt/answer examples into training tensors.

:class:`ByteTokenizer` needs no file and no download: ids 0–255 are the UTF-8 bytes, then
``pad`` (256), ``bos`` (257) and ``eos`` (258); ``vocab_size`` is 259.

:func:`encode_examples` turns ``{"prompt", "answer"}`` dicts into ``input_ids``, ``labels``
and ``attention_mask``. The sequence is ``bos + prompt + answer + eos`` and the labels follow
the Hugging Face convention (same length as ``input_ids``; the model shifts them): the
answer and ``eos`` positions carry their token ids, everything else ``-100``. It accepts a
Hugging Face tokenizer as well (prompt and answer are tokenised separately with
``add_special_tokens=False``, so the answer boundary is exact).

Chat templates
--------------
For an instruct model whose tokenizer has a non-empty ``chat_template`` (e.g. the ChatML
template of ``load_tokenizer("smollm2-135m")``), :func:`encode_examples` formats each prompt as
the user turn, ``apply_chat_template([{"role": "user", "content": prompt}],
add_generation_prompt=True, tokenize=False)``, and the answer as the assistant reply followed
by the template's end-of-turn token(s) (``<|im_end|>`` for ChatML); only the answer and the
end-of-turn tokens are targets. ``chat_template=False`` keeps the plain ``bos + prompt + answer
+ eos`` format; the :class:`ByteTokenizer` has no template and always uses it.

Examples
--------
>>> from llm_minibatch.tokenization import ByteTokenizer, encode_examples
>>> tok = ByteTokenizer()
>>> batch = encode_examples([{"prompt": "1+1=", "answer": "2"}], tok)
>>> batch["input_ids"].tolist()
[[257, 49, 43, 49, 61, 50, 258]]
>>> batch["labels"].tolist()
[[-100, -100, -100, -100, -100, 50, 258]]
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int

__all__ = ["IGNORE_INDEX", "ByteTokenizer", "encode_examples"]

IGNORE_INDEX = -100
"""Label value ignored by the loss (padding, bos and prompt positions)."""

_BYTE_TOKENIZER_FILE = "byte_tokenizer.json"


class ByteTokenizer:
    """UTF-8 byte tokenizer: 256 byte ids plus ``pad`` (256), ``bos`` (257), ``eos`` (258).

    Attributes
    ----------
    vocab_size : int
        259.
    pad_token_id, bos_token_id, eos_token_id : int
        256, 257, 258.

    Examples
    --------
    >>> tok = ByteTokenizer()
    >>> tok.encode("hé")
    [104, 195, 169]
    >>> tok.decode([257, 104, 195, 169, 258])
    'hé'
    >>> tok.encode("a", add_special_tokens=True)
    [257, 97, 258]
    """

    pad_token_id = 256
    bos_token_id = 257
    eos_token_id = 258
    vocab_size = 259
    pad_token, bos_token, eos_token = "<pad>", "<bos>", "<eos>"
    name_or_path = "byte"

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        """Token ids of ``text`` (its UTF-8 bytes); ``bos``/``eos`` around it on request."""
        if not isinstance(text, str):
            raise InvalidInputError(f"text: expected a str, got {type(text).__name__}")
        ids = list(text.encode("utf-8"))
        if add_special_tokens:
            ids = [self.bos_token_id, *ids, self.eos_token_id]
        return ids

    def decode(self, ids: Iterable[int] | torch.Tensor, skip_special_tokens: bool = True) -> str:
        """Text of ``ids``; special tokens are skipped (or shown as ``<pad>`` etc.).

        Invalid UTF-8 (e.g. a multi-byte character cut in half) decodes to ``U+FFFD``.
        """
        if isinstance(ids, torch.Tensor):
            ids = ids.reshape(-1).tolist()
        names = {self.pad_token_id: self.pad_token, self.bos_token_id: self.bos_token,
                 self.eos_token_id: self.eos_token}
        out = bytearray()
        for i in ids:
            i = int(i)
            if 0 <= i < 256:
                out.append(i)
            elif i in names:
                if not skip_special_tokens:
                    out.extend(names[i].encode("ascii"))
            else:
                raise InvalidInputError(
                    f"ids: token id {i} outside the byte vocabulary [0, {self.vocab_size})"
                )
        return out.decode("utf-8", errors="replace")

    def batch_decode(self, sequences: Iterable[Iterable[int]], skip_special_tokens: bool = True
                     ) -> list[str]:
        """:meth:`decode` of every sequence (rows of a 2-D tensor or lists of ids)."""
        return [self.decode(s, skip_special_tokens=skip_special_tokens) for s in sequences]

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return "ByteTokenizer(vocab_size=259, pad=256, bos=257, eos=258)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ByteTokenizer)

    def __hash__(self) -> int:
        return hash(ByteTokenizer)

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        """Write a marker file so :func:`llm_minibatch.models.load_tokenizer` finds it again."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        path = d / _BYTE_TOKENIZER_FILE
        path.write_text(json.dumps({
            "tokenizer_class": "ByteTokenizer", "vocab_size": self.vocab_size,
            "pad_token_id": self.pad_token_id, "bos_token_id": self.bos_token_id,
            "eos_token_id": self.eos_token_id,
        }, indent=1) + "\n")
        return path

    @classmethod
    def is_saved_in(cls, directory: str | os.PathLike) -> bool:
        """Whether :meth:`save_pretrained` wrote into ``directory``."""
        return (Path(directory) / _BYTE_TOKENIZER_FILE).is_file()


# --------------------------------------------------------------------------- encoding
def _token_ids(tokenizer: Any, text: str) -> list[int]:
    ids = tokenizer.encode(text, add_special_tokens=False)
    if isinstance(ids, torch.Tensor):
        ids = ids.reshape(-1).tolist()
    return [int(i) for i in ids]


def _special_ids(tokenizer: Any) -> tuple[int | None, int, int]:
    if not callable(getattr(tokenizer, "encode", None)):
        raise InvalidInputError(
            f"tokenizer: expected a ByteTokenizer or a Hugging Face tokenizer (with encode), "
            f"got {type(tokenizer).__name__}"
        )
    eos = getattr(tokenizer, "eos_token_id", None)
    if eos is None:
        raise InvalidInputError(
            "tokenizer: has no eos_token_id; the answer must end with an end-of-sequence token"
        )
    pad = getattr(tokenizer, "pad_token_id", None)
    bos = getattr(tokenizer, "bos_token_id", None)
    return bos, int(eos), int(eos if pad is None else pad)


def _example_list(examples: Any) -> list:
    """The examples as a non-empty list (a single dict is an error, not a one-item list)."""
    if isinstance(examples, Mapping):
        raise InvalidInputError(
            "examples: expected a sequence of dicts, got a single dict (wrap it in a list)"
        )
    examples = list(examples)
    if not examples:
        raise InvalidInputError("examples: expected at least one example, got none")
    return examples


def _example_text(ex: Any, i: int, key: str) -> str:
    if not isinstance(ex, Mapping):
        raise InvalidInputError(
            f"examples: item {i} must be a dict with 'prompt' and 'answer', "
            f"got {type(ex).__name__}"
        )
    if key not in ex:
        raise InvalidInputError(f"examples: item {i} has no {key!r} key (keys: {sorted(ex)})")
    value = ex[key]
    if not isinstance(value, str):
        raise InvalidInputError(
            f"examples: item {i} {key!r} must be a str, got {type(value).__name__}"
        )
    return value


_CHAT_MARK = "\ue000\ue001"  # stands in for a message's content when probing a template


def _has_chat_template(tokenizer: Any) -> bool:
    template = getattr(tokenizer, "chat_template", None)
    return (bool(template) and not (isinstance(template, str) and not template.strip())
            and callable(getattr(tokenizer, "apply_chat_template", None)))


def _use_chat_template(tokenizer: Any, chat_template: Any) -> bool:
    if chat_template is not None and not isinstance(chat_template, bool):
        raise InvalidInputError(
            f"chat_template: expected True, False or None, got {chat_template!r}"
        )
    has = _has_chat_template(tokenizer)
    if chat_template and not has:
        raise InvalidInputError(
            f"chat_template: True needs a tokenizer with a non-empty chat_template; "
            f"{type(tokenizer).__name__} has none (pass False or None)"
        )
    return has if chat_template is None else chat_template


class _ChatFormat:
    """The user-turn prompt and the end-of-turn tokens of a tokenizer's chat template."""

    def __init__(self, tokenizer: Any, eos: int) -> None:
        self.tokenizer = tokenizer
        # the text around a user message: kept whole when a long prompt is truncated
        around = self.render_prompt(_CHAT_MARK).split(_CHAT_MARK)
        self.around = (around[0], around[1]) if len(around) == 2 else None
        # the end of an assistant turn: the template's text after the reply, surrounding
        # whitespace dropped (ChatML: "<|im_end|>"); eos when the template adds nothing
        try:
            turn = tokenizer.apply_chat_template(
                [{"role": "user", "content": "x"}, {"role": "assistant", "content": _CHAT_MARK}],
                tokenize=False)
        except Exception:  # a template may refuse this probe conversation: eos ends the turn
            turn = ""
        parts = turn.split(_CHAT_MARK) if isinstance(turn, str) else []
        end = parts[1].strip() if len(parts) == 2 else ""
        self.end_of_turn = _token_ids(tokenizer, end) if end else [eos]

    def render_prompt(self, prompt: str) -> str:
        text = self.tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False)
        if not isinstance(text, str):
            raise InvalidInputError(
                f"tokenizer: apply_chat_template(..., tokenize=False) returned "
                f"{type(text).__name__}, expected a str"
            )
        return text

    def prompt_ids(self, prompt: str, room: int) -> list[int]:
        """The formatted prompt's ids, at most ``room`` of them.

        A prompt that does not fit loses tokens of the user message from the left, the
        template's text before and after it (system turn, generation prompt) is kept; when
        even that does not fit, the formatted prompt is cut from the left.
        """
        text = self.render_prompt(prompt)
        ids = _token_ids(self.tokenizer, text)
        if len(ids) <= room:
            return ids
        if self.around is not None and text == self.around[0] + prompt + self.around[1]:
            before = _token_ids(self.tokenizer, self.around[0])
            after = _token_ids(self.tokenizer, self.around[1])
            keep = room - len(before) - len(after)
            if keep >= 0:
                content = _token_ids(self.tokenizer, prompt)
                return before + (content[len(content) - keep:] if keep else []) + after
            ids = before + after
        return ids[len(ids) - room:] if room > 0 else []


def encode_examples(examples: Sequence[Mapping[str, Any]], tokenizer: Any, *,
                    max_length: int = 64, padding_side: str = "right",
                    pad_to_max_length: bool = False,
                    chat_template: bool | None = None) -> dict[str, torch.Tensor]:
    """Encode prompt/answer examples as ``input_ids``, ``labels`` and ``attention_mask``.

    Each row is ``[bos] + prompt + answer + [eos]`` (``bos`` only when the tokenizer has one).
    Labels equal the input ids on the answer and ``eos`` positions and ``-100`` on ``bos``,
    prompt and padding — the Hugging Face causal-LM convention (``model(..., labels=...)``
    shifts them). A sequence longer than ``max_length`` loses prompt tokens from the left
    (``bos`` is kept); the answer is never cut.

    With a chat template, each row is ``template(user=prompt, generation prompt) + answer +
    end-of-turn`` instead: the template writes its own special tokens (no extra ``bos``), the
    end-of-turn tokens are the template's text after an assistant reply, stripped of
    whitespace (``<|im_end|>`` for ChatML; ``eos`` when the template adds nothing), and only
    the answer and end-of-turn positions are targets. A prompt that does not fit loses tokens
    of the user message from the left while the template's text around it (system turn,
    generation prompt) is kept; the answer is never cut.

    Parameters
    ----------
    examples : sequence of dict
        Each with str ``"prompt"`` and ``"answer"`` (other keys are ignored).
    tokenizer : ByteTokenizer or Hugging Face tokenizer
        Anything with ``encode(text, add_special_tokens=False)`` and ``eos_token_id``; a
        missing ``pad_token_id`` falls back to ``eos_token_id`` (the padding positions are
        masked anyway).
    max_length : int, default 64
        Longest row, special tokens included.
    padding_side : {"right", "left"}, default "right"
    pad_to_max_length : bool, default False
        Pad every row to ``max_length`` instead of the longest row of the batch.
    chat_template : bool or None, default None
        Format the examples with the tokenizer's chat template (True), or as plain text
        (False). None: use the template when the tokenizer has a non-empty
        ``chat_template`` (a :class:`ByteTokenizer` has none).

    Returns
    -------
    dict
        ``input_ids``, ``labels``, ``attention_mask``: ``torch.long`` tensors of shape
        ``(len(examples), T)``.

    Raises
    ------
    InvalidInputError
        No examples; an example without str ``prompt``/``answer``; an answer that does not
        fit in ``max_length`` with ``bos`` and ``eos`` (or the end of turn); a bad
        ``padding_side``; ``chat_template=True`` with a tokenizer that has no chat template.

    Examples
    --------
    >>> tok = ByteTokenizer()
    >>> b = encode_examples([{"prompt": "abcdef", "answer": "xy"},
    ...                      {"prompt": "q", "answer": "z"}], tok, max_length=6,
    ...                     padding_side="left")
    >>> tok.batch_decode(b["input_ids"])  # bos + 2 prompt bytes + answer + eos = 6
    ['efxy', 'qz']
    >>> b["attention_mask"].tolist()
    [[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1]]
    >>> b["labels"][1].tolist()
    [-100, -100, -100, -100, 122, 258]

    A Hugging Face tokenizer with a chat template (here a byte-level one built on the spot):

    >>> from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    >>> from transformers import PreTrainedTokenizerFast
    >>> vocab = {c: i for i, c in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    >>> core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    >>> core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    >>> core.decoder = decoders.ByteLevel()
    >>> chat = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<end>")
    >>> chat.chat_template = ("{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}<end>"
    ...                       "{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}")
    >>> c = encode_examples([{"prompt": "1+1=", "answer": "2"}], chat)
    >>> chat.decode(c["input_ids"][0])
    '<user>1+1=<end><assistant>2<end>'
    >>> chat.decode(c["input_ids"][0][c["labels"][0] != -100])
    '2<end>'
    >>> chat.decode(encode_examples([{"prompt": "1+1=", "answer": "2"}], chat,
    ...                             chat_template=False)["input_ids"][0])
    '1+1=2<end>'
    """
    max_length = check_int(max_length, "max_length", minimum=1)
    if padding_side not in ("right", "left"):
        raise InvalidInputError(
            f"padding_side: expected 'right' or 'left', got {padding_side!r}"
        )
    examples = _example_list(examples)
    bos, eos, pad = _special_ids(tokenizer)
    chat = _ChatFormat(tokenizer, eos) if _use_chat_template(tokenizer, chat_template) else None
    head = [] if bos is None or chat is not None else [int(bos)]
    end = [eos] if chat is None else chat.end_of_turn
    rows: list[tuple[list[int], list[int]]] = []
    for i, ex in enumerate(examples):
        prompt_text = _example_text(ex, i, "prompt")
        answer = _token_ids(tokenizer, _example_text(ex, i, "answer")) + end
        room = max_length - len(head) - len(answer)
        if room < 0:
            raise InvalidInputError(
                f"max_length: {max_length} is too short for example {i}: its answer alone "
                f"needs {len(head) + len(answer)} tokens (with "
                f"{'bos/eos' if chat is None else 'the end of turn'})"
            )
        if chat is not None:
            prompt = chat.prompt_ids(prompt_text, room)
        else:
            prompt = _token_ids(tokenizer, prompt_text)
            if len(prompt) > room:
                prompt = prompt[len(prompt) - room:] if room > 0 else []
        ids = head + prompt + answer
        labels = [IGNORE_INDEX] * (len(head) + len(prompt)) + answer
        rows.append((ids, labels))
    width = max_length if pad_to_max_length else max(len(ids) for ids, _ in rows)
    n = len(rows)
    input_ids = torch.full((n, width), pad, dtype=torch.long)
    labels_t = torch.full((n, width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    for r, (ids, labels) in enumerate(rows):
        L = len(ids)
        sl = slice(0, L) if padding_side == "right" else slice(width - L, width)
        input_ids[r, sl] = torch.tensor(ids, dtype=torch.long)
        labels_t[r, sl] = torch.tensor(labels, dtype=torch.long)
        mask[r, sl] = 1
    return {"input_ids": input_ids, "labels": labels_t, "attention_mask": mask}
