"""Information measures: closed forms, the generic measure, and submodlib-py's functions.

Three independent checks of every constructor in :mod:`matroidopt.utility.information`:

* the formula of Kothawade et al. (2022), written here in numpy, on random sets;
* at ``eta = nu = 1``, the generic :class:`~matroidopt.MutualInformation` (or
  ``condition``) of the base function over the joint ground set ``V ∪ Q ∪ P``;
* submodlib-py's function of the same name on shared data (digits, an exponential euclidean
  kernel): the same values on random sets and the same greedy selection and gains (ties
  aside, judged at submodlib's float32 rounding).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from input_checks import names_the_argument
from peer_support import assert_same_greedy

import matroidopt as mo
from matroidopt.testing.utilities import check_oracle, check_submodular

RNG = np.random.default_rng(11)


def _kernel(A, B):
    return np.exp(-np.linalg.norm(A[:, None] - B[None], axis=-1) / A.shape[1])


def _sets(n, count=12, rng=RNG):
    return [sorted(rng.permutation(n)[:int(rng.integers(1, min(n, 7)))].tolist())
            for _ in range(count)]


# --------------------------------------------------------------------------- small instance
N, NQ, NP = 9, 3, 2
PTS = RNG.normal(size=(N + NQ + NP, 3))
V, Qx, Px = PTS[:N], PTS[N:N + NQ], PTS[N + NQ:]
K, KQ, KP = _kernel(V, V), _kernel(V, Qx), _kernel(V, Px)


def _fl_formula(S, eta=1.0, nu=1.0, query=True, private=True):
    a = K[:, S].max(1) if S else np.zeros(N)
    if query:
        a = np.minimum(a, eta * KQ.max(1))
    b = nu * KP.max(1) if private else np.zeros(N)
    return float(np.maximum(a - b, 0.0).sum())


@pytest.mark.parametrize("eta, nu", [(1.0, 1.0), (2.5, 0.4), (0.3, 1.7)])
def test_facility_location_measures_match_their_formulas(eta, nu):
    mi = mo.facility_location_mutual_information(K, KQ, eta=eta)
    cg = mo.facility_location_conditional_gain(K, KP, nu=nu)
    cmi = mo.facility_location_conditional_mutual_information(K, KQ, KP, eta=eta, nu=nu)
    vmi = mo.facility_location_variant_mutual_information(KQ, eta=eta)
    for S in _sets(N):
        assert mi.evaluate(S) == pytest.approx(_fl_formula(S, eta, private=False), rel=1e-12)
        assert cg.evaluate(S) == pytest.approx(_fl_formula(S, nu=nu, query=False), rel=1e-12)
        assert cmi.evaluate(S) == pytest.approx(_fl_formula(S, eta, nu), rel=1e-12)
        vmi_ref = KQ[S].max(0).sum() + eta * KQ[S].max(1).sum()
        assert vmi.evaluate(S) == pytest.approx(vmi_ref, rel=1e-12)
    for f in (mi, cg, cmi, vmi):
        assert (f.monotone, f.submodular, f.normalized) == (True, True, True)
        check_submodular(f)
        check_oracle(f, trials=5)


def test_sparse_kernels_give_the_dense_values():
    Ks = np.where(K > 0.5, K, 0.0)
    for make in (lambda M: mo.facility_location_mutual_information(M, KQ, eta=1.3),
                 lambda M: mo.facility_location_conditional_gain(M, KP, nu=0.8),
                 lambda M: mo.facility_location_conditional_mutual_information(M, KQ, KP)):
        dense, sparse = make(Ks), make(sp.csr_matrix(Ks))
        for S in _sets(N):
            assert sparse.evaluate(S) == pytest.approx(dense.evaluate(S), rel=1e-12)


def _joint_fl(columns):
    """Facility location with V as clients over the candidates ``columns`` of V ∪ Q ∪ P."""
    return mo.FacilityLocation(_kernel(V, PTS[columns]))


def test_facility_location_measures_at_one_are_the_generic_measures():
    """eta = nu = 1: f(A) + f(Q) - f(A ∪ Q) (and its conditional forms) of facility location
    over V ∪ Q ∪ P with V as the clients."""
    everything = list(range(N + NQ + NP))
    base = _joint_fl(everything)
    Q, P = list(range(N, N + NQ)), list(range(N + NQ, N + NQ + NP))
    generic = {
        "mi": mo.MutualInformation(_joint_fl(list(range(N + NQ))), query=Q),
        "cmi": mo.MutualInformation(base, query=Q, private=P),
        "cg": _joint_fl([*range(N), *P]).condition(range(N, N + NP)).restrict(range(N)),
    }
    closed = {
        "mi": mo.facility_location_mutual_information(K, KQ),
        "cmi": mo.facility_location_conditional_mutual_information(K, KQ, KP),
        "cg": mo.facility_location_conditional_gain(K, KP),
    }
    assert generic["mi"].elements.tolist() == list(range(N))
    for name, g in generic.items():
        f = closed[name]
        assert g.n == f.n == N
        for S in _sets(N):
            assert g.evaluate(S) == pytest.approx(f.evaluate(S), rel=1e-12, abs=1e-12), name
        state_f, state_g = f.init_state(), g.init_state()
        for j in mo.greedy(f, 4).indices:
            assert torch.allclose(f.gains(state_f).double(), g.gains(state_g).double(),
                                  atol=1e-12), name
            state_f, state_g = f.add(state_f, j), g.add(state_g, j)


def test_generic_mutual_information_of_set_cover_is_the_masked_cover():
    m = 10
    inc = RNG.random((N + NQ, m)) < 0.35
    w = RNG.uniform(0.5, 2.0, m)
    generic = mo.MutualInformation(mo.WeightedCoverage(inc, w), query=range(N, N + NQ))
    covered_by_q = np.flatnonzero(inc[N:].any(0)).tolist()
    closed = mo.set_cover_mutual_information(inc[:N], covered_by_q, w)
    for S in _sets(N):
        assert generic.evaluate(S) == pytest.approx(closed.evaluate(S), rel=1e-12, abs=1e-12)
    assert generic.monotone and not generic.submodular and generic.normalized


def test_generic_mutual_information_oracle_and_monotonicity():
    L = PTS @ PTS.T + 0.1 * np.eye(len(PTS))
    f = mo.LogDeterminant(L)
    g = mo.MutualInformation(f, query=[9, 10], private=[13])
    assert g.elements.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 12]
    check_oracle(g, trials=5)
    # I(A; Q | P) = f(A ∪ P) + f(Q ∪ P) - f(A ∪ Q ∪ P) - f(P), from scratch
    for S in _sets(g.n):
        A = g.elements[S].tolist()
        ref = f.evaluate(A + [13]) + f.evaluate([9, 10, 13]) - f.evaluate(A + [9, 10, 13]) \
            - f.evaluate([13])
        assert g.evaluate(S) == pytest.approx(ref, rel=1e-12, abs=1e-12)
        for j in range(g.n):
            if j not in S:
                assert g.evaluate(S + [j]) >= g.evaluate(S) - 1e-12


def test_graph_cut_measures_match_their_formulas():
    lam, nu = 0.3, 1.7
    mi = mo.graph_cut_mutual_information(KQ)
    cg = mo.graph_cut_conditional_gain(K, KP, lam=lam, nu=nu)
    for S in _sets(N):
        assert mi.evaluate(S) == pytest.approx(KQ[S].sum(), rel=1e-12)
        ref = K[:, S].sum() - lam * K[np.ix_(S, S)].sum() - 2 * lam * nu * KP[S].sum()
        assert cg.evaluate(S) == pytest.approx(ref, rel=1e-12)
    assert cg.submodular and not cg.monotone
    check_submodular(cg)


def _logdet(M, S):
    return float(np.linalg.slogdet(M[np.ix_(S, S)])[1]) if S else 0.0


@pytest.mark.parametrize("lam, eta, nu", [(1.0, 1.0, 1.0), (0.5, 0.7, 0.7), (2.0, 0.9, 0.9),
                                         (0.7, 0.9, 0.2), (1.0, 0.5, 0.3)])
def test_log_determinant_measures_match_their_formulas(lam, eta, nu):
    """The Schur-complement forms of the PRISM paper, in numpy: I(A; Q) = log det(M_A) -
    log det(M_A - eta² S_AQ M_Q^-1 S_AQ^T), f(A | P) = log det(M_A - nu² S_AP M_P^-1
    S_AP^T), with M = S + lam I; CMI from the four log-determinants of the joint kernel.
    With eta != nu the joint kernel is indefinite (M + lam I stays positive definite)."""
    G = _kernel(PTS, PTS)         # a Laplacian kernel: positive definite on distinct points
    S, SQ, SP = G[:N, :N], G[:N, N:N + NQ], G[:N, N + NQ:]
    QQ, PP, QP = G[N:N + NQ, N:N + NQ], G[N + NQ:, N + NQ:], G[N:N + NQ, N + NQ:]
    M = S + lam * np.eye(N)
    MQ, MP = QQ + lam * np.eye(NQ), PP + lam * np.eye(NP)
    mi = mo.log_determinant_mutual_information(S, SQ, QQ, lam=lam, eta=eta)
    cg = mo.log_determinant_conditional_gain(S, SP, PP, lam=lam, nu=nu)
    cmi = mo.log_determinant_conditional_mutual_information(S, SQ, QQ, SP, PP, QP, lam=lam,
                                                            eta=eta, nu=nu)
    R_Q = M - eta**2 * SQ @ np.linalg.solve(MQ, SQ.T)
    R_P = M - nu**2 * SP @ np.linalg.solve(MP, SP.T)
    J = G + lam * np.eye(len(G))
    J[:N, N:N + NQ] *= eta
    J[N:N + NQ, :N] *= eta
    J[:N, N + NQ:] *= nu
    J[N + NQ:, :N] *= nu
    Qi, Pi = list(range(N, N + NQ)), list(range(N + NQ, N + NQ + NP))
    for A in _sets(N):
        assert mi.evaluate(A) == pytest.approx(_logdet(M, A) - _logdet(R_Q, A), abs=1e-10)
        assert cg.evaluate(A) == pytest.approx(_logdet(R_P, A), abs=1e-10)
        ref = (_logdet(J, A + Pi) + _logdet(J, Qi + Pi) - _logdet(J, A + Qi + Pi)
               - _logdet(J, Pi))
        assert cmi.evaluate(A) == pytest.approx(ref, abs=1e-10)
    assert mi.monotone and cmi.monotone and cg.submodular
    check_oracle(mi, trials=4)
    check_oracle(cg, trials=4)
    check_oracle(cmi, trials=4)
    check_submodular(cg)
    joint = np.block([[S, nu * SP], [nu * SP.T, PP]])
    mu = min(lam, lam + np.linalg.eigvalsh(joint).min())
    assert cg.monotone == (mu >= 1.0)


def test_coverage_measures_match_their_formulas():
    m = 12
    inc = RNG.random((N, m)) < 0.35
    probs = RNG.random((N, m)) * (RNG.random((N, m)) < 0.6)
    w = RNG.uniform(0.5, 2.0, m)
    Q, P = [0, 2, 3, 5, 7, 11], [3, 4, 11]
    keep = {"mi": np.isin(np.arange(m), Q), "cg": ~np.isin(np.arange(m), P)}
    keep["cmi"] = keep["mi"] & keep["cg"]
    made = {
        ("set", "mi"): mo.set_cover_mutual_information(inc, Q, w),
        ("set", "cg"): mo.set_cover_conditional_gain(sp.csr_matrix(inc), P, w),
        ("set", "cmi"): mo.set_cover_conditional_mutual_information(inc, Q, P, w),
        ("prob", "mi"): mo.probabilistic_coverage_mutual_information(probs, Q, w),
        ("prob", "cg"): mo.probabilistic_coverage_conditional_gain(probs, P, w),
        ("prob", "cmi"): mo.probabilistic_coverage_conditional_mutual_information(
            probs, Q, P, w),
    }
    for (kind, name), f in made.items():
        for S in _sets(N):
            if kind == "set":
                ref = (w * keep[name] * inc[S].any(0)).sum()
            else:
                ref = (w * keep[name] * (1.0 - np.prod(1.0 - probs[S], 0))).sum()
            assert f.evaluate(S) == pytest.approx(ref, rel=1e-12, abs=1e-12), (kind, name)
        assert f.monotone and f.submodular


@pytest.mark.parametrize("concave, psi", [("log", np.log1p), ("sqrt", np.sqrt),
                                          ("inverse", lambda x: 1.0 - 1.0 / (1.0 + x)),
                                          ("squareRoot", np.sqrt)])
def test_concave_over_modular_matches_its_formula(concave, psi):
    f = mo.concave_over_modular(KQ, eta=0.7, concave=concave)
    for S in _sets(N):
        ref = 0.7 * psi(KQ[S].sum(1)).sum() + psi(KQ[S].sum(0)).sum()
        assert f.evaluate(S) == pytest.approx(ref, rel=1e-12)
    assert f.monotone and f.submodular
    check_submodular(f)


def test_a_query_lifts_its_neighbours():
    """The point of the measures: plain facility location picks from the dense cluster near
    0; with the query near 5 mutual information picks 5's side, and the conditional gain with
    a private point inside the cluster leaves the cluster too."""
    pts = np.array([[0.0], [0.1], [0.2], [0.15], [5.0], [5.3]])
    Kv = _kernel(pts, pts)
    assert mo.greedy(mo.FacilityLocation(Kv), 1).indices[0] in (0, 1, 2, 3)
    near5 = _kernel(pts, np.array([[5.1]]))
    near0 = _kernel(pts, np.array([[0.12]]))
    assert mo.greedy(mo.facility_location_mutual_information(Kv, near5), 1).indices[0] in (4, 5)
    assert mo.greedy(mo.facility_location_conditional_gain(Kv, near0), 1).indices[0] in (4, 5)


BAD = [
    (lambda: mo.facility_location_mutual_information(K, KQ[:5]), "query_kernel"),
    (lambda: mo.facility_location_mutual_information(K, KQ, eta=-1.0), "eta"),
    (lambda: mo.facility_location_mutual_information(K, None), "query_kernel"),
    (lambda: mo.facility_location_mutual_information(None, KQ), "kernel"),
    (lambda: mo.facility_location_conditional_gain(K, KP, nu=float("nan")), "nu"),
    (lambda: mo.facility_location_conditional_gain(K, KP[:, :, None]), "private_kernel"),
    (lambda: mo.FacilityLocation(K, baseline=np.ones(N - 1)), "baseline"),
    (lambda: mo.FacilityLocation(K, baseline=-np.ones(N)), "baseline"),
    (lambda: mo.graph_cut_conditional_gain(K, KP, lam=-0.1), "lam"),
    (lambda: mo.log_determinant_mutual_information(K, KQ, np.eye(2)), "query_query_kernel"),
    (lambda: mo.log_determinant_mutual_information(K, KQ, np.eye(NQ), lam=0.0), "lam"),
    (lambda: mo.log_determinant_mutual_information(K, 5 * KQ, np.eye(NQ)), "kernel"),
    (lambda: mo.log_determinant_conditional_mutual_information(
        K, KQ, np.eye(NQ), KP, np.eye(NP), np.zeros((NQ, NP + 1))), "query_private_kernel"),
    (lambda: mo.set_cover_mutual_information(np.eye(3), [3]), "query_concepts"),
    (lambda: mo.set_cover_conditional_gain(np.eye(3), None), "private_concepts"),
    (lambda: mo.set_cover_mutual_information(np.eye(3), [0], weights=[1.0]), "weights"),
    (lambda: mo.probabilistic_coverage_mutual_information(np.eye(3), "ab"), "query_concepts"),
    (lambda: mo.concave_over_modular(KQ, concave="cube"), "concave"),
    (lambda: mo.concave_over_modular(-KQ), "query_kernel"),
    (lambda: mo.MutualInformation(mo.FacilityLocation(K), query=[0], private=[0]), "private"),
    (lambda: mo.MutualInformation(mo.FacilityLocation(K), query=[N]), "query"),
    (lambda: mo.MutualInformation(lambda S: 0.0, query=[0]), "f"),
]


test_bad_input_names_the_argument = names_the_argument(BAD)


# --------------------------------------------------------------------------- submodlib-py
@pytest.fixture(scope="module")
def digits():
    datasets = pytest.importorskip("sklearn.datasets")
    X = datasets.load_digits().data.astype(np.float64)
    rng = np.random.default_rng(3)
    order = rng.permutation(len(X))
    Vd, Qd, Pd = X[order[:160]], X[order[160:164]], X[order[164:167]]
    G = _kernel(np.vstack([Vd, Qd, Pd]), np.vstack([Vd, Qd, Pd]))
    n, q = len(Vd), len(Qd)
    blocks = {"VV": G[:n, :n], "VQ": G[:n, n:n + q], "VP": G[:n, n + q:],
              "QQ": G[n:n + q, n:n + q], "PP": G[n + q:, n + q:], "QP": G[n:n + q, n + q:]}
    return {k: np.ascontiguousarray(v) for k, v in blocks.items()}


def _theirs(submodlib, name, b, eta, nu, lam):
    n, q, p = len(b["VV"]), b["VQ"].shape[1], b["VP"].shape[1]
    f32 = {k: v.astype(np.float32) for k, v in b.items()}
    make = {
        "flmi": lambda: submodlib.FacilityLocationMutualInformationFunction(
            n, q, data_sijs=f32["VV"], query_sijs=f32["VQ"], magnificationEta=eta),
        "flvmi": lambda: submodlib.FacilityLocationVariantMutualInformationFunction(
            n, q, query_sijs=f32["VQ"], queryDiversityEta=eta),
        "flcg": lambda: submodlib.FacilityLocationConditionalGainFunction(
            n, p, data_sijs=f32["VV"], private_sijs=f32["VP"], privacyHardness=nu),
        "flcmi": lambda: submodlib.FacilityLocationConditionalMutualInformationFunction(
            n, q, p, data_sijs=f32["VV"], query_sijs=f32["VQ"], private_sijs=f32["VP"],
            magnificationEta=eta, privacyHardness=nu),
        "gcmi": lambda: submodlib.GraphCutMutualInformationFunction(n, q, query_sijs=f32["VQ"]),
        "gccg": lambda: submodlib.GraphCutConditionalGainFunction(
            n, p, lam, data_sijs=f32["VV"], private_sijs=f32["VP"], privacyHardness=nu),
        "ldmi": lambda: submodlib.LogDeterminantMutualInformationFunction(
            n, q, lam, data_sijs=f32["VV"], query_sijs=f32["VQ"], query_query_sijs=f32["QQ"],
            magnificationEta=eta),
        "ldcg": lambda: submodlib.LogDeterminantConditionalGainFunction(
            n, p, lam, data_sijs=f32["VV"], private_sijs=f32["VP"],
            private_private_sijs=f32["PP"], privacyHardness=nu),
        "ldcmi": lambda: submodlib.LogDeterminantConditionalMutualInformationFunction(
            n, q, p, lam, data_sijs=f32["VV"], query_sijs=f32["VQ"],
            query_query_sijs=f32["QQ"], private_sijs=f32["VP"],
            private_private_sijs=f32["PP"], query_private_sijs=f32["QP"],
            magnificationEta=eta, privacyHardness=nu),
        "com": lambda: submodlib.ConcaveOverModularFunction(
            n, q, query_sijs=f32["VQ"], queryDiversityEta=eta),
    }
    return make[name]()


def _ours(name, b, eta, nu, lam):
    make = {
        "flmi": lambda: mo.facility_location_mutual_information(b["VV"], b["VQ"], eta=eta),
        "flvmi": lambda: mo.facility_location_variant_mutual_information(b["VQ"], eta=eta),
        "flcg": lambda: mo.facility_location_conditional_gain(b["VV"], b["VP"], nu=nu),
        "flcmi": lambda: mo.facility_location_conditional_mutual_information(
            b["VV"], b["VQ"], b["VP"], eta=eta, nu=nu),
        "gcmi": lambda: mo.graph_cut_mutual_information(b["VQ"]),
        "gccg": lambda: mo.graph_cut_conditional_gain(b["VV"], b["VP"], lam=lam, nu=nu),
        "ldmi": lambda: mo.log_determinant_mutual_information(
            b["VV"], b["VQ"], b["QQ"], lam=lam, eta=eta),
        "ldcg": lambda: mo.log_determinant_conditional_gain(
            b["VV"], b["VP"], b["PP"], lam=lam, nu=nu),
        "ldcmi": lambda: mo.log_determinant_conditional_mutual_information(
            b["VV"], b["VQ"], b["QQ"], b["VP"], b["PP"], b["QP"], lam=lam, eta=eta, nu=nu),
        "com": lambda: mo.concave_over_modular(b["VQ"], eta=eta, concave="log"),
    }
    return make[name]()


# (eta, nu, lam) per function: parameters away from 1 where they enter; log-determinant's
# joint kernel must stay PSD (eta = nu <= 1 keeps a convex combination of PSD matrices)
CASES = {
    "flmi": (2.0, 1.0, 1.0), "flvmi": (0.6, 1.0, 1.0), "flcg": (1.0, 0.7, 1.0),
    "flcmi": (1.8, 0.6, 1.0), "gcmi": (1.0, 1.0, 1.0), "gccg": (1.0, 2.5, 0.2),
    "ldmi": (0.8, 1.0, 0.5), "ldcg": (1.0, 0.9, 2.0), "ldcmi": (0.8, 0.8, 1.0),
    "com": (0.5, 1.0, 1.0),
}


@pytest.mark.peers
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_submodlib(digits, name):
    submodlib = pytest.importorskip("submodlib")
    eta, nu, lam = CASES[name]
    ours, theirs = _ours(name, digits, eta, nu, lam), _theirs(submodlib, name, digits, eta,
                                                              nu, lam)
    rng = np.random.default_rng(5)
    for S in _sets(ours.n, 10, rng):
        assert ours.evaluate(S) == pytest.approx(theirs.evaluate(set(S)), rel=2e-5, abs=1e-5)
    k = 12
    out = theirs.maximize(budget=k, optimizer="NaiveGreedy", stopIfZeroGain=False,
                          stopIfNegativeGain=False, verbose=False, show_progress=False)
    their_idx = [int(i) for i, _ in out]
    mine = mo.greedy(ours, k)
    assert_same_greedy(ours, mine.indices, their_idx, eps=2.0**-23, label=f"submodlib {name}")
    if their_idx == [int(i) for i in mine.indices]:
        assert np.allclose([g for _, g in out], mine.gains, rtol=1e-4, atol=1e-4)


@pytest.mark.peers
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("name", ["mi", "cg", "cmi"])
def test_coverage_measures_same_as_submodlib(name):
    submodlib = pytest.importorskip("submodlib")
    rng = np.random.default_rng(8)
    n, m = 60, 40
    inc = rng.random((n, m)) < 0.1
    probs = (rng.random((n, m)) * (rng.random((n, m)) < 0.3)).astype(np.float32)
    w = rng.uniform(0.5, 2.0, m).astype(np.float32)
    Q, P = set(rng.permutation(m)[:20].tolist()), set(rng.permutation(m)[:10].tolist())
    cover = [set(np.flatnonzero(r).tolist()) for r in inc]
    tag = {"mi": "MutualInformation", "cg": "ConditionalGain",
           "cmi": "ConditionalMutualInformation"}[name]
    concepts = {"mi": dict(query_concepts=Q), "cg": dict(private_concepts=P),
                "cmi": dict(query_concepts=Q, private_concepts=P)}[name]
    pairs = [
        (getattr(mo, {"mi": "set_cover_mutual_information", "cg": "set_cover_conditional_gain",
                      "cmi": "set_cover_conditional_mutual_information"}[name])(
            inc, *[sorted(c) for c in concepts.values()], weights=w),
         getattr(submodlib, f"SetCover{tag}Function")(
            n=n, cover_set=cover, num_concepts=m, concept_weights=w.tolist(), **concepts)),
        (getattr(mo, {"mi": "probabilistic_coverage_mutual_information",
                      "cg": "probabilistic_coverage_conditional_gain",
                      "cmi": "probabilistic_coverage_conditional_mutual_information"}[name])(
            probs.astype(np.float64), *[sorted(c) for c in concepts.values()],
            weights=w.astype(np.float64)),
         getattr(submodlib, f"ProbabilisticSetCover{tag}Function")(
            n=n, num_concepts=m, probs=probs.tolist(), concept_weights=w.tolist(),
            **concepts)),
    ]
    for ours, theirs in pairs:
        for S in _sets(n, 10, rng):
            assert ours.evaluate(S) == pytest.approx(theirs.evaluate(set(S)), rel=1e-5)
        out = theirs.maximize(budget=8, optimizer="NaiveGreedy", stopIfZeroGain=False,
                              stopIfNegativeGain=False, verbose=False, show_progress=False)
        mine = mo.greedy(ours, 8)
        assert_same_greedy(ours, mine.indices, [int(i) for i, _ in out], eps=2.0**-23,
                           label=f"submodlib {type(theirs).__name__}")


@pytest.mark.parametrize("make", [
    lambda M, Q: mo.facility_location_mutual_information(M, Q),
    lambda M, Q: mo.facility_location_variant_mutual_information(Q),
    lambda M, Q: mo.facility_location_conditional_mutual_information(M, Q, Q),
    lambda M, Q: mo.graph_cut_mutual_information(Q),
    lambda M, Q: mo.graph_cut_conditional_gain(M, Q, lam=0.1),
    lambda M, Q: mo.log_determinant_conditional_gain(M, 0.5 * Q, Q[:NQ] * 0 + np.eye(NQ)),
    lambda M, Q: mo.concave_over_modular(Q),
], ids=["flmi", "flvmi", "flcmi", "gcmi", "gccg", "ldcg", "com"])
def test_results_come_back_in_the_input_array_kind(make):
    """numpy in, numpy out (the constructors compute with torch inside); torch in, torch out,
    with the same selection."""
    G = _kernel(PTS, PTS)
    M, Q = G[:N, :N], G[:N, N:N + NQ]
    from_numpy = mo.greedy(make(M, Q), 3)
    from_torch = mo.greedy(make(torch.as_tensor(M), torch.as_tensor(Q)), 3)
    assert isinstance(from_numpy.indices, np.ndarray)
    assert isinstance(from_torch.indices, torch.Tensor)
    assert from_numpy.indices.tolist() == from_torch.indices.tolist()
