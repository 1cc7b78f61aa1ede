"""Generators of the embedded domains: exact, checkable prompt/answer pairs (see the package
docstring for what each domain asks)."""
from __future__ import annotations

import random
from collections.abc import Callable, Mapping

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int

__all__ = ["CORPUS_SEED", "CORPUS_SIZES", "DOMAINS", "GENERATORS", "arithmetic_example",
           "make_corpus", "smiles_example", "sorting_example", "units_example"]


DOMAINS: tuple[str, ...] = ("arithmetic", "smiles", "units", "sorting")
"""The generated domains, in a fixed order."""

CORPUS_SIZES: dict[str, int] = {"arithmetic": 1200, "units": 800, "sorting": 500, "smiles": 300}
"""Examples per domain in the shipped corpus (imbalanced on purpose)."""

CORPUS_SEED = 0
"""Seed of the shipped corpus."""

MAX_EXAMPLE_BYTES = 48
MAX_ANSWER_BYTES = 15

Rng = random.Random | int


def _as_rng(rng: Rng) -> random.Random:
    if isinstance(rng, random.Random):
        return rng
    if isinstance(rng, int) and not isinstance(rng, bool):
        return random.Random(rng)
    raise InvalidInputError(f"rng: expected a random.Random or an int seed, got {rng!r}")


# --------------------------------------------------------------------------- generators
_NAMES = ("Tom", "Ann", "Bob", "Eve", "Sam", "Mia", "Leo", "Zoe")
_ITEMS = ("apples", "pens", "cards", "books", "eggs", "coins")


def arithmetic_example(rng: Rng) -> dict[str, str]:
    """One arithmetic word problem with its exact integer answer.

    Three templates, equally likely: ``"<name> has a <items> and buys b. How many? "``
    (a + b; a, b in 1..30), ``"... and loses b. How many? "`` (a − b with b ≤ a; a in 2..40),
    ``"<name> buys a bags of b <items>. How many? "`` (a · b; a, b in 2..9).

    Parameters
    ----------
    rng : random.Random or int
        Random source (an int is used as a seed).

    Returns
    -------
    dict
        ``{"prompt", "answer", "domain": "arithmetic"}``.

    Examples
    --------
    >>> ex = arithmetic_example(3)
    >>> ex["domain"], ex["prompt"].endswith("How many? ")
    ('arithmetic', True)
    """
    rng = _as_rng(rng)
    name, item = rng.choice(_NAMES), rng.choice(_ITEMS)
    kind = rng.randrange(3)
    if kind == 0:
        a, b = rng.randint(1, 30), rng.randint(1, 30)
        prompt, answer = f"{name} has {a} {item} and buys {b}. How many? ", a + b
    elif kind == 1:
        a = rng.randint(2, 40)
        b = rng.randint(1, a)
        prompt, answer = f"{name} has {a} {item} and loses {b}. How many? ", a - b
    else:
        a, b = rng.randint(2, 9), rng.randint(2, 9)
        prompt, answer = f"{name} buys {a} bags of {b} {item}. How many? ", a * b
    return {"prompt": prompt, "answer": str(answer), "domain": "arithmetic"}


_ATOMS = "CNOS"
_MAX_SMILES = 10


def _smiles_string(rng: random.Random) -> str:
    """A SMILES-like chain: 3–6 atoms, optional ``=`` bonds, at most one branch ``(X)``."""
    while True:
        n = rng.randint(3, 6)
        weights = (6, 2, 2, 1)
        atoms = rng.choices(_ATOMS, weights=weights, k=n)
        parts = [atoms[0]]
        for atom in atoms[1:]:
            if rng.random() < 0.15:
                parts.append("=")
            parts.append(atom)
        s = "".join(parts)
        if rng.random() < 0.5:
            branch = "".join(rng.choices(_ATOMS, weights=weights, k=rng.randint(1, 2)))
            if rng.random() < 0.3:
                branch = "=" + branch
            cut = rng.randint(1, len(s))
            while s[cut - 1] == "=":  # a branch never follows a dangling bond
                cut -= 1
            s = s[:cut] + "(" + branch + ")" + s[cut:]
        if len(s) <= _MAX_SMILES:
            return s


def smiles_example(rng: Rng) -> dict[str, str]:
    """One edit of a SMILES-like string: reverse it, count an atom, or replace an atom.

    Strings use single-character atoms ``C N O S``, ``=`` bonds and one level of branches, at
    most 10 characters, so the three tasks are exact character operations:
    ``"reverse <s>: "`` → ``s[::-1]``, ``"count <a> in <s>: "`` → ``str(s.count(a))``,
    ``"replace <a> with <b> in <s>: "`` → ``s.replace(a, b)`` (``a`` occurs in ``s``,
    ``b != a``).

    Parameters
    ----------
    rng : random.Random or int
        Random source (an int is used as a seed).

    Returns
    -------
    dict
        ``{"prompt", "answer", "domain": "smiles"}``.

    Examples
    --------
    >>> ex = smiles_example(0)
    >>> ex["domain"], ex["prompt"].endswith(": ")
    ('smiles', True)
    """
    rng = _as_rng(rng)
    s = _smiles_string(rng)
    kind = rng.randrange(3)
    if kind == 0:
        prompt, answer = f"reverse {s}: ", s[::-1]
    elif kind == 1:
        atom = rng.choice(_ATOMS)
        prompt, answer = f"count {atom} in {s}: ", str(s.count(atom))
    else:
        old = rng.choice(sorted(set(s) & set(_ATOMS)))
        new = rng.choice([a for a in _ATOMS if a != old])
        prompt, answer = f"replace {old} with {new} in {s}: ", s.replace(old, new)
    return {"prompt": prompt, "answer": answer, "domain": "smiles"}


# (big unit, small unit, small units per big unit)
_UNITS: tuple[tuple[str, str, int], ...] = (
    ("km", "m", 1000),
    ("m", "cm", 100),
    ("cm", "mm", 10),
    ("kg", "g", 1000),
    ("L", "mL", 1000),
    ("h", "min", 60),
    ("min", "s", 60),
    ("day", "h", 24),
    ("week", "day", 7),
)


def units_example(rng: Rng) -> dict[str, str]:
    """One integer unit conversion, from the big unit to the small one or back.

    ``"<a> <big> in <small>? "`` → ``a · f`` and ``"<a · f> <small> in <big>? "`` → ``a``
    (a in 1..99, f the factor: km/m 1000, m/cm 100, cm/mm 10, kg/g 1000, L/mL 1000, h/min 60,
    min/s 60, day/h 24, week/day 7), so every answer is an exact integer.

    Parameters
    ----------
    rng : random.Random or int
        Random source (an int is used as a seed).

    Returns
    -------
    dict
        ``{"prompt", "answer", "domain": "units"}``.

    Examples
    --------
    >>> ex = units_example(0)
    >>> ex["domain"], ex["prompt"].endswith("? ")
    ('units', True)
    """
    rng = _as_rng(rng)
    big, small, factor = rng.choice(_UNITS)
    a = rng.randint(1, 99)
    if rng.random() < 0.5:
        prompt, answer = f"{a} {big} in {small}? ", a * factor
    else:
        prompt, answer = f"{a * factor} {small} in {big}? ", a
    return {"prompt": prompt, "answer": str(answer), "domain": "units"}


def sorting_example(rng: Rng) -> dict[str, str]:
    """Sort 3 to 5 integers in 0..99: ``"sort ..."`` ascending, ``"sort desc ..."`` descending.

    Parameters
    ----------
    rng : random.Random or int
        Random source (an int is used as a seed).

    Returns
    -------
    dict
        ``{"prompt", "answer", "domain": "sorting"}``; the answer is space-separated.

    Examples
    --------
    >>> import random
    >>> ex = sorting_example(random.Random(0))
    >>> nums = [int(t) for t in ex["prompt"].split(":")[0].split() if t.isdigit()]
    >>> ex["answer"] in (" ".join(map(str, sorted(nums))),
    ...                  " ".join(map(str, sorted(nums, reverse=True))))
    True
    """
    rng = _as_rng(rng)
    nums = [rng.randint(0, 99) for _ in range(rng.randint(3, 5))]
    desc = rng.random() < 0.3
    head = "sort desc" if desc else "sort"
    prompt = f"{head} {' '.join(map(str, nums))}: "
    answer = " ".join(map(str, sorted(nums, reverse=desc)))
    return {"prompt": prompt, "answer": answer, "domain": "sorting"}


GENERATORS: dict[str, Callable[[Rng], dict[str, str]]] = {
    "arithmetic": arithmetic_example,
    "smiles": smiles_example,
    "units": units_example,
    "sorting": sorting_example,
}
"""Domain name → generator ``(rng) -> {"prompt", "answer", "domain"}``."""


# --------------------------------------------------------------------------- corpus
def _domain_sizes(n_per_domain: int | Mapping[str, int]) -> dict[str, int]:
    if isinstance(n_per_domain, Mapping):
        unknown = [d for d in n_per_domain if d not in GENERATORS]
        if unknown:
            raise InvalidInputError(
                f"n_per_domain: unknown domains {unknown}; expected keys among {DOMAINS}"
            )
        sizes = {d: check_int(n_per_domain[d], f"n_per_domain[{d!r}]", minimum=0)
                 for d in DOMAINS if d in n_per_domain}
    else:
        n = check_int(n_per_domain, "n_per_domain", minimum=0)
        sizes = dict.fromkeys(DOMAINS, n)
    if sum(sizes.values()) == 0:
        raise InvalidInputError(
            f"n_per_domain: expected at least one example in all, got {n_per_domain!r}"
        )
    return sizes


def make_corpus(n_per_domain: int | Mapping[str, int], seed: int = 0) -> list[dict[str, str]]:
    """Generate a multi-domain corpus with unique prompts inside each domain.

    Parameters
    ----------
    n_per_domain : int or mapping of str to int
        Examples per domain: one count for every domain of :data:`DOMAINS`, or a mapping
        ``{domain: count}`` (domains left out get none; sizes may differ freely).
    seed : int, default 0
        Each domain draws from its own stream seeded by ``(seed, domain)``, so changing one
        domain's size leaves the other domains' examples unchanged.

    Returns
    -------
    list of dict
        ``{"prompt", "answer", "domain"}`` dicts, shuffled across domains (deterministic).

    Raises
    ------
    InvalidInputError
        Unknown domain, a negative count, no example in all, or more unique prompts asked of a
        domain than it can produce (naming ``n_per_domain``).

    Examples
    --------
    >>> c = make_corpus({"units": 3, "smiles": 2}, seed=0)
    >>> [ex["domain"] for ex in c].count("units")
    3
    >>> c == make_corpus({"units": 3, "smiles": 2}, seed=0)
    True
    """
    sizes = _domain_sizes(n_per_domain)
    seed = check_int(seed, "seed")
    out: list[dict[str, str]] = []
    for domain, n in sizes.items():
        rng = random.Random(f"llm_minibatch:{seed}:{domain}")
        gen = GENERATORS[domain]
        seen: set[str] = set()
        attempts = 0
        max_attempts = 50 * n + 1000
        while len(seen) < n:
            attempts += 1
            if attempts > max_attempts:
                raise InvalidInputError(
                    f"n_per_domain: could draw only {len(seen)} unique {domain!r} prompts, "
                    f"{n} asked"
                )
            ex = gen(rng)
            if ex["prompt"] not in seen:
                seen.add(ex["prompt"])
                out.append(ex)
    random.Random(f"llm_minibatch:{seed}:order").shuffle(out)
    return out


