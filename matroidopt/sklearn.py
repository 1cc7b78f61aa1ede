"""A scikit-learn estimator: :class:`SubmodularSelector`, data subset selection by a solve.

``SubmodularSelector(n_samples=20).fit_transform(X)`` returns the 20 rows of ``X`` that a
submodular utility (facility location by default) built from ``X`` values most, picked by a
matroidopt solver; the fitted estimator keeps the selection order (``ranking_``), the gain of
each pick (``gains_``) and the solve's certificate (``upper_bound_``, ``certified_ratio_``).
Per-group quotas (``labels`` and ``capacities``: a partition matroid) and a budget over
per-row costs (``costs``: a knapsack) are constructor arguments, so the estimator covers
apricot's ``*Selection`` classes and what only a constrained solver offers.

A selector keeps rows, it does not map each row to a new one: ``transform`` returns fewer
rows than it is given. The documentation page (``docs/sklearn.md``) lists which of
scikit-learn's estimator checks assume the opposite, and why they do not apply.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .constraint import Constraint
from .errors import InvalidInputError
from .selection import KERNEL_METRICS, UTILITY_BUILDERS, select_rows
from .solver import Result
from .utility import Utility

__all__ = ["SubmodularSelector", "UTILITY_BUILDERS", "KERNEL_METRICS"]  # the names, re-exported

class SubmodularSelector(OneToOneFeatureMixin, TransformerMixin, BaseEstimator,
                         auto_wrap_output_keys=None):
    """Select the rows of ``X`` that a submodular utility values most, under a constraint.

    ``fit(X)`` builds the utility ``f`` from ``X`` (by default facility location over the
    rows' similarities), the constraint (at most ``n_samples`` rows; per-label quotas; a
    budget over row costs) and maximises ``f`` with ``solver``. ``transform(X)`` returns
    ``X[ranking_]``: the selected rows in selection order.

    Parameters
    ----------
    n_samples : int or float, default=10
        How many rows to select, at most: an int ``k >= 0``, or a float in ``(0, 1]``, the
        fraction ``ceil(n_samples · n)`` of the ``n`` rows. With ``costs``, the budget (any
        number ``>= 0``). With ``capacities`` it may be None: the sum of the quotas.
    utility : str or callable, default="facility_location"
        A name in :data:`UTILITY_BUILDERS` (``"facility_location"``, ``"feature_based"``,
        ``"graph_cut"``, ``"saturated_coverage"``, ``"log_determinant"``, ``"disparity_sum"``,
        ``"disparity_min"``), or a callable ``X -> Utility`` over the rows of ``X``.
    metric : str or None, default=None
        Similarity of rows for the kernel-based utilities (one of :data:`KERNEL_METRICS`;
        None: ``"euclidean"``, ``exp(-|x - y| / d)``); ``"precomputed"``: ``X`` is the
        ``(n, n)`` similarity matrix (the distance matrix for dispersion). Must be None for
        ``"feature_based"``, which scores the features themselves.
    constraint : Constraint or None, default=None
        A constraint over the ``n`` rows (``labels``, ``capacities`` and ``costs`` must then
        be left unset); a matroid is truncated to ``n_samples`` rows unless that is None.
        None: the constraint is built from ``n_samples``, ``labels``, ``capacities`` and
        ``costs``.
    labels : array-like of shape (n,), optional
        A group per row, for per-group quotas (default: the ``y`` passed to ``fit``).
    capacities : int, sequence or mapping, optional
        The quota of each group: an int for every group, one per sorted distinct label, or a
        mapping label -> quota. Setting it makes the constraint a partition matroid
        (truncated to ``n_samples`` rows when that is set as well).
    costs : array-like of shape (n,), optional
        A non-negative cost per row: the constraint becomes a knapsack of budget
        ``n_samples`` (apricot's ``sample_cost``); solved by ``cost_benefit_greedy``.
    solver : str, default="auto"
        A name in :data:`matroidopt.SOLVERS` (``"lazy_greedy"``, ``"stochastic_greedy"``,
        ...), or ``"auto"`` (:func:`matroidopt.auto_solver`: lazy greedy, cost-benefit greedy
        for a knapsack).
    utility_options, solver_options : dict, optional
        Keyword arguments of the utility's constructor (``lam``, ``alpha``, ``concave``,
        ``gamma``, ``kernel_style="apricot"``, ...) and of the solver (``epsilon``, ...).
    device : str or torch.device, optional
        Where the utility computes (default: the input tensor's device, else CPU).
    random_state : int, numpy RandomState / Generator or None, default=None
        Seed of randomised solvers; the same seed gives the same selection.
    progress : bool, default=False
        Show the solver's progress bar.

    Attributes
    ----------
    ranking_ : numpy.ndarray of int64
        The selected rows, in selection order (apricot's ``ranking``).
    gains_ : numpy.ndarray of float64
        The marginal gain of each selected row when it was picked (apricot's ``gains``).
    value_ : float
        ``f(ranking_)``.
    upper_bound_ : float or None
        The certificate: ``f(OPT) <= upper_bound_`` for the best feasible selection OPT.
    certified_ratio_ : float or None
        ``value_ / upper_bound_``: a measured lower bound on ``value_ / f(OPT)``.
    guarantee_ : float or None
        The solver's worst-case ratio for this utility and constraint.
    result_ : Result
        The whole :class:`~matroidopt.Result` of the solve.
    n_features_in_ : int
        Columns of ``X`` at ``fit``.
    feature_names_in_ : numpy.ndarray of str
        Column names of a DataFrame ``X`` at ``fit``, when they are all strings.

    Notes
    -----
    numpy arrays, scipy.sparse matrices and arrays (densified once, ``n × d``), pandas
    DataFrames and torch tensors (on their own device) give the same ranking. The guarantee
    is the solver's: ``1 - 1/e`` for lazy greedy under ``n_samples``, ``1/2`` under quotas
    (Nemhauser, Wolsey & Fisher 1978; Fisher, Nemhauser & Wolsey 1978).

    Complexity
    ----------
    The solver's: lazy greedy makes ``O(n · k)`` marginal gains in the worst case, far fewer
    in practice; facility location's gain costs ``O(n)`` (kernel rows on the fly from the
    features, ``O(n · d)`` each, never an ``n × n`` matrix); the other kernel utilities
    store the ``n × n`` kernel.

    References
    ----------
    Schreiber, Bilmes & Noble (2020), apricot: submodular selection for data summarization in
    Python, JMLR 21(161) (the ``fit`` / ``transform`` / ``ranking`` / ``gains`` interface).

    Examples
    --------
    >>> import numpy as np
    >>> from matroidopt.sklearn import SubmodularSelector
    >>> X = np.random.default_rng(0).normal(size=(200, 5))
    >>> sel = SubmodularSelector(n_samples=12, random_state=0).fit(X)
    >>> sel.transform(X).shape, sel.ranking_[:3].tolist()
    ((12, 5), [61, 0, 98])
    >>> sel.value_ <= sel.upper_bound_, sel.certified_ratio_ > sel.guarantee_
    (True, True)

    Quotas per group, here at most 4 rows of each of three groups:

    >>> groups = np.arange(200) % 3
    >>> sel = SubmodularSelector(n_samples=None, labels=groups, capacities=4).fit(X)
    >>> np.bincount(groups[sel.ranking_]).tolist(), sel.guarantee_
    ([4, 4, 4], 0.5)
    """

    def __init__(self, n_samples: int | float | None = 10, *,
                 utility: str | Callable[[Any], Utility] = "facility_location",
                 metric: str | None = None, constraint: Constraint | None = None,
                 labels=None, capacities=None, costs=None, solver: str = "auto",
                 utility_options: dict | None = None, solver_options: dict | None = None,
                 device=None, random_state=None, progress: bool = False) -> None:
        self.n_samples = n_samples
        self.utility = utility
        self.metric = metric
        self.constraint = constraint
        self.labels = labels
        self.capacities = capacities
        self.costs = costs
        self.solver = solver
        self.utility_options = utility_options
        self.solver_options = solver_options
        self.device = device
        self.random_state = random_state
        self.progress = progress

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # ------------------------------------------------------------------ the door
    def _check_data(self, X, *, reset: bool):
        """``X`` validated: a torch tensor stays one (on its device); everything else becomes
        a float numpy array or a CSR matrix through scikit-learn's own validation."""
        if isinstance(X, torch.Tensor):
            if X.ndim != 2:
                raise InvalidInputError(f"X: expected a 2-D tensor (n, d), got {X.ndim}-D")
            if X.is_complex():
                raise InvalidInputError(f"X: expected a real tensor, got {X.dtype}")
            if X.shape[0] < 1 or X.shape[1] < 1:
                raise InvalidInputError(f"X: expected at least one row and one column, got "
                                        f"shape {tuple(X.shape)}")
            if X.is_floating_point() and not bool(torch.isfinite(X).all()):
                raise InvalidInputError("X: contains NaN or infinity")
            if reset:
                self.n_features_in_ = int(X.shape[1])
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
            elif X.shape[1] != self.n_features_in_:
                raise InvalidInputError(
                    f"X: has {X.shape[1]} features, but {type(self).__name__} was fitted "
                    f"with {self.n_features_in_}")
            return X
        return validate_data(self, X, reset=reset, accept_sparse="csr",
                             dtype=[np.float64, np.float32])

    def _seed(self):
        rs = self.random_state
        if rs is None or isinstance(rs, (numbers.Integral, np.random.Generator)):
            return rs
        return int(check_random_state(rs).randint(np.iinfo(np.int32).max))

    # ------------------------------------------------------------------ the estimator
    def fit(self, X, y=None) -> SubmodularSelector:
        """Solve on the rows of ``X`` (and the groups ``y`` when ``capacities`` is set and
        ``labels`` is not).

        Returns
        -------
        SubmodularSelector
            ``self``, fitted.
        """
        X = self._check_data(X, reset=True)
        res: Result = select_rows(
            X, self.n_samples, utility=self.utility, metric=self.metric,
            constraint=self.constraint,
            labels=self.labels if self.labels is not None or self.capacities is None else y,
            capacities=self.capacities, costs=self.costs, solver=self.solver,
            utility_options=self.utility_options, solver_options=self.solver_options,
            device=self.device, seed=self._seed(), progress=self.progress)
        idx = res.indices
        self.ranking_ = (idx.detach().cpu().numpy() if isinstance(idx, torch.Tensor)
                         else np.asarray(idx)).astype(np.int64)
        self.gains_ = np.asarray(res.gains, dtype=np.float64)
        self.value_ = res.value
        self.upper_bound_ = res.upper_bound
        self.certified_ratio_ = res.certified_ratio
        self.guarantee_ = res.guarantee
        self.result_ = res
        self.n_rows_ = int(X.shape[0])
        return self

    def transform(self, X):
        """The selected rows of ``X``, in selection order: ``X[ranking_]``.

        ``X`` must be the data the selector was fitted on (the same number of rows and
        columns): the selection names rows of that data. The output has the input's kind
        (numpy, CSR, DataFrame, torch tensor on its device).
        """
        check_is_fitted(self, "ranking_")
        frame = X if hasattr(X, "iloc") else None
        Xv = self._check_data(X, reset=False)
        if Xv.shape[0] != self.n_rows_:
            raise InvalidInputError(
                f"X: the selection names rows of the {self.n_rows_}-row data it was fitted "
                f"on; got {Xv.shape[0]} rows")
        if frame is not None:
            return frame.iloc[self.ranking_]
        if isinstance(Xv, torch.Tensor):
            out = Xv[torch.as_tensor(self.ranking_, device=Xv.device)]
        else:
            out = Xv[self.ranking_]
        if getattr(self, "_sklearn_output_config", {}).get("transform") != "pandas":
            return out
        import pandas as pd

        if sp.issparse(out):
            raise InvalidInputError("X: pandas output (set_output(transform='pandas')) does "
                                    "not hold sparse rows; pass dense X or default output")
        dense = out.detach().cpu().numpy() if isinstance(out, torch.Tensor) else out
        return pd.DataFrame(dense, index=self.ranking_, columns=self.get_feature_names_out())

    def set_output(self, *, transform: str | None = None) -> SubmodularSelector:
        """Choose what ``transform`` returns, as scikit-learn's ``set_output`` (so that
        ``Pipeline.set_output`` reaches the selector).

        Parameters
        ----------
        transform : {"default", "pandas"} or None
            ``"pandas"``: a DataFrame of the selected rows, indexed by their row numbers
            (a DataFrame input keeps its own index); ``"default"``: the input's kind; None:
            unchanged.

        Returns
        -------
        SubmodularSelector
            ``self``.
        """
        if transform is None:
            return self
        if transform not in ("default", "pandas"):
            raise InvalidInputError(
                f"transform: expected 'default', 'pandas' or None, got {transform!r}")
        self._sklearn_output_config = {"transform": transform}
        return self
