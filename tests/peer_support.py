"""Tie-aware comparison of greedy sequences, shared by the peer-parity tests.

A mismatch is accepted only where it is shown to be a tie: at the first differing step both
picks must have the same float64 marginal gain at the common prefix within the rounding
tolerance of the peer's precision, and from there on every pick of the peer must still be a
greedy pick (within that tolerance) at the peer's own prefix.
"""

from __future__ import annotations

import numpy as np


def _gain(f, prefix, j):
    return f.evaluate([*prefix, j]) - f.evaluate(prefix)


def _tie_tol(f, gain, eps):
    # a sum of n kernel entries, each rounded to `eps`, with partial sums up to `gain`
    return 4.0 * f.n * eps * max(abs(gain), 1.0)


def assert_same_greedy(f, ref, other, *, eps, label):
    """``ref`` and ``other`` are greedy sequences on ``f``; they must be equal, or differ only
    after a tie (shown in float64, within the rounding of precision ``eps``)."""
    ref = [int(i) for i in ref]
    other = [int(i) for i in other]
    assert len(ref) == len(other), f"{label}: {len(other)} elements, expected {len(ref)}"
    t = next((i for i, (a, b) in enumerate(zip(ref, other, strict=True)) if a != b), None)
    if t is None:
        v_ref, v_other = f.evaluate(ref), f.evaluate(other)
        assert abs(v_ref - v_other) <= 1e-9 * abs(v_ref), (label, v_ref, v_other)
        return "identical"
    prefix = ref[:t]
    g_ref, g_other = _gain(f, prefix, ref[t]), _gain(f, prefix, other[t])
    tol = _tie_tol(f, g_ref, eps)
    assert abs(g_ref - g_other) <= tol, (
        f"{label}: step {t} picks {other[t]} (gain {g_other!r}) instead of {ref[t]} "
        f"(gain {g_ref!r}); |difference| {abs(g_ref - g_other):.3e} is no tie (tol {tol:.1e})")
    # after the tie the sequences may part: every later pick of `other` must still be greedy
    state = f.init_state()
    for j in other[:t + 1]:
        state = f.add(state, j)
    for s in range(t + 1, len(other)):
        g = f.gains(state).double().cpu().numpy()
        g[other[:s]] = -np.inf
        best, mine = float(g.max()), float(g[other[s]])
        assert best - mine <= _tie_tol(f, best, eps), (
            f"{label}: after the tie at step {t}, step {s} picks {other[s]} (gain {mine!r}) "
            f"while the best gain is {best!r}")
        state = f.add(state, other[s])
    return f"tie at step {t}"
