"""The statistics behind every verdict: does what our seeds measured support, contradict or leave open a claim
of the paper? (Issue 12, item 1.)

A pure module (numpy, scipy, pandas and the library's error class, nothing else), so that the tables, notebooks
05–07 and the report share one set of tests and one vocabulary (:data:`VOCABULARY`).

What the tests assume
---------------------
- **Independence.** Each value is one training run (one seed) summarised by one number (rank-1 of the main
  protocol, or mAP). Runs of different rows and seeds share nothing but code and data, so values are independent
  within and between the arms of a comparison. Values of one seed of two models trained together (Fig. 5's
  branches of one network) are not: compare those with :func:`paired`.
- **Normality over seeds** for the t-tests (:func:`welch`, :func:`one_sample`, :func:`anova`): a row's values
  across seeds are taken as draws from a normal distribution. With 3–5 seeds this cannot be checked; the t-tests
  are fairly robust to it, and :func:`permutation` needs only exchangeability under the null, at the price of a
  floor on its p-value (:func:`permutation_floor`: 3 + 3 seeds can never reach p < 0.05).
- **Welch, not Student.** Rows differ in their seed spread (an augmentation can make training steadier), so the
  two-sample test does not pool variances; its degrees of freedom are Welch–Satterthwaite's.
- **Two-sided everywhere.** The paper's sign is the claim, but a difference of the opposite sign must be
  detectable too (*contradicted*), so no test is one-sided; a 95 % interval goes with a 5 % two-sided test.
- **Holm for multiplicity.** A report with 20+ claims tested at 5 % each would show about one spurious
  *supported* or *contradicted* by chance. :func:`holm` controls the family-wise error rate (the probability of
  at least one false rejection in the whole family) at α, and it is valid under **any** dependence between the
  p-values, which matters here: claims share runs (Table 1's rows share Baseline, Tables 3 and 4 share the full
  model), so their p-values are dependent, and methods that need independence or positive dependence
  (Hochberg, Benjamini–Hochberg) would need an argument we cannot make. Holm is never less powerful than
  Bonferroni.
- **Sample standard deviations** use ddof = 1 everywhere.

Bad input (NaN or infinite values, empty arrays, arrays of the wrong shape) raises :class:`StatsError` saying
what was wrong. A comparison with fewer than 2 values on a side is not an error: it is a study with one seed so
far, and gets a result without a p-value (NaN), read as *not resolved (1 seed)*.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace

import numpy as np
import pandas as pd
from scipy import stats as _st

from .errors import VireidError


class StatsError(VireidError, ValueError):
    """Input a statistical test cannot use (NaN values, an empty arm, a p-value outside [0, 1], ...)."""


# ---------------------------------------------------------------------------------------------------------------
# The vocabulary, defined once
# ---------------------------------------------------------------------------------------------------------------

ALPHA = 0.05
"""Family-wise significance level of every verdict (two-sided tests, Holm-adjusted p-values)."""

NO_EFFECT_THRESHOLD = 0.5
"""Rank-1 points. A difference the paper reports with ``|Δ| < 0.5`` is read as the paper reporting *no effect*.

Why half a point: the paper reports one run per row, and a single rank-1 near 70 % over SYSU-MM01's 3,803
all-search queries has a binomial standard error of ≈ 0.74 points from the choice of queries alone, before any
seed-to-seed variation; a smaller difference between two single runs cannot carry a sign. The threshold also keeps
every difference the paper's text presents as an effect (the smallest is Table 4's Joint-to-Global, +0.50,
"performance is improved") and reads as none the ones it calls marginal (Table 3, L_id alone: +0.09). A paper
difference within 1e-9 of the threshold counts as reaching it (70.18 − 69.68 is exactly 0.5 in decimals)."""

MAX_SEEDS = 10
"""The most seeds per arm :func:`seeds_to_resolve` considers (the issue's budget: "within 10 seeds")."""

POWER = 0.8
"""The power asked of a test that "would resolve" a claim (the conventional 80 %)."""

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
NO_EFFECT = "no effect, as the paper"
EFFECT_NOT_REPORTED = "effect where the paper reports none"
NOT_RESOLVED = "not resolved"
ONE_SEED = "not resolved (1 seed)"
CONSISTENT = "consistent"
THETA_FLAT = "θ does not matter here"
DESCRIPTIVE = "descriptive"
NOT_MEASURABLE = "not measurable"
NOT_MEASURED_YET = "not measured yet"

VOCABULARY: dict[str, str] = {
    SUPPORTED: "Our difference has the paper's sign and is significant after Holm's correction over the whole "
               "family of claims (adjusted p < 0.05). For a θ sweep: the paper's θ beats every other θ "
               "significantly after correction.",
    CONTRADICTED: "Our difference has the opposite sign to the paper's and is significant after Holm's correction "
                  "(adjusted p < 0.05). For a θ sweep: another θ beats the paper's significantly after correction.",
    NO_EFFECT: f"The paper's own difference is below {NO_EFFECT_THRESHOLD:g} rank-1 points (no effect in a single "
               "run) and ours is not significant after correction either. Not a proof of no effect: the 95 % "
               "interval says how large an effect our seeds cannot rule out.",
    EFFECT_NOT_REPORTED: f"The paper's own difference is below {NO_EFFECT_THRESHOLD:g} rank-1 points (no effect), "
                         "but ours is significant after Holm's correction (adjusted p < 0.05).",
    NOT_RESOLVED: "Everything else: our seeds can neither confirm nor refute the paper's sign. The verdict says what "
                  "would: \"(k seeds would resolve it)\" — the seeds per arm with which a two-sided test at the "
                  f"family's worst-case Holm level α/m has {POWER * 100:.0f} % power to detect the observed "
                  f"difference at the observed spread — or \"(> {MAX_SEEDS} seeds needed)\".",
    ONE_SEED: "Fewer than 2 seeds on a side: there is no spread to test against, so no p-value is given.",
    CONSISTENT: "θ sweeps only: the paper's θ is within noise of the best — no other θ beats it significantly after "
                "Holm's correction — without beating every other θ significantly.",
    THETA_FLAT: "θ sweeps only, a reading beside the verdict: a one-way ANOVA over the θ values run with ≥ 2 seeds "
                "finds no difference between them (p ≥ 0.05).",
    DESCRIPTIVE: "A secondary metric (mAP) shown beside a rank-1 claim: Δ, 95 % interval and unadjusted p only. It "
                 "is not in the Holm family and gets no verdict, so adding it cannot change a rank-1 verdict.",
    NOT_MEASURABLE: "Fig. 5 only: no fair measurement exists here (no trained models of the method to explain, or "
                    "no image where both branches' maps show positive evidence on the common grid); the reason "
                    "follows. Outside the Holm family.",
    NOT_MEASURED_YET: "Fig. 5 only: a model it needs is not trained yet and the notebook was asked to train nothing "
                      "(budget_minutes=0). Outside the Holm family until it is measured.",
}
"""Every verdict word the study uses, with its definition: the report and the notebooks print these."""


def verdict_name(verdict: str) -> str:
    """The :data:`VOCABULARY` entry a verdict string belongs to: ``"not resolved (4 seeds would resolve it)"`` →
    ``"not resolved"``; a θ verdict ``"consistent; θ does not matter here (…)"`` → ``"consistent"``."""
    if verdict in VOCABULARY:
        return verdict
    for name in sorted(VOCABULARY, key=len, reverse=True):
        if verdict.startswith(name):
            return name
    raise StatsError(f"{verdict!r} is not a verdict of the vocabulary ({', '.join(VOCABULARY)})")


def vocabulary_markdown() -> str:
    """:data:`VOCABULARY` as a Markdown list, for the report and the notebooks."""
    return "\n".join(f"- *{name}*: {text}" for name, text in VOCABULARY.items())


# ---------------------------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------------------------

def _values(x, name: str, where: str, allow_empty: bool = False) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as e:
        raise StatsError(f"{where}: {name} must be numbers, one per seed ({e})") from None
    if arr.ndim != 1:
        raise StatsError(f"{where}: {name} must be a 1-D sequence of values (one per seed), got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise StatsError(f"{where}: {name} is empty; a comparison needs at least one value per side "
                         "(two for a p-value)")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise StatsError(f"{where}: {name} has {bad.size} NaN or infinite value(s) at position(s) "
                         f"{bad.tolist()}; drop failed or pending runs before testing")
    return arr


def _check_level(value: float, name: str, where: str) -> float:
    if not (isinstance(value, int | float | np.floating) and 0 < float(value) < 1):
        raise StatsError(f"{where}: {name} must be a number strictly between 0 and 1, got {value!r}")
    return float(value)


def _sd(x: np.ndarray) -> float:
    return float(x.std(ddof=1)) if x.size >= 2 else float("nan")


def _no_spread(sd: float, x: np.ndarray) -> bool:
    """A sample standard deviation that is zero up to rounding (identical values)."""
    return sd <= 1e-12 * max(1.0, float(np.abs(x).max()))


# ---------------------------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TestResult:
    """One comparison: ``delta`` = mean(a) − mean(b) (or mean(d) for a one-sample test), its confidence interval,
    the test statistic ``t`` with ``df`` degrees of freedom, the two-sided ``p``, and the numbers of values.

    ``p`` (and ``t``, ``df``, the interval) is NaN when there is nothing to test: fewer than 2 values on a side, or
    no spread at all (``note`` says which). ``n_b``/``sd_b`` are None for one-sample and paired tests."""

    __test__ = False  # not a pytest test class, despite its name

    test: str
    delta: float
    ci_low: float
    ci_high: float
    t: float
    df: float
    p: float
    n_a: int
    n_b: int | None
    sd_a: float
    sd_b: float | None
    confidence: float = 0.95
    note: str = ""

    @property
    def has_p(self) -> bool:
        return not math.isnan(self.p)

    @property
    def min_n(self) -> int:
        return self.n_a if self.n_b is None else min(self.n_a, self.n_b)

    @property
    def seeds(self) -> str:
        """``"3 / 5"`` (a / b) or ``"4"`` for a one-sample test."""
        return str(self.n_a) if self.n_b is None else f"{self.n_a} / {self.n_b}"


def welch(a, b, alpha: float = ALPHA) -> TestResult:
    """Welch's unequal-variance t-test of mean(a) − mean(b), two-sided, with the (1 − ``alpha``) confidence
    interval of the difference on Welch–Satterthwaite degrees of freedom.

    Assumes independent values, normal within each arm, variances not assumed equal. With fewer than 2 values on
    a side, or no spread in either arm, the result has ``delta`` but NaN ``p``, ``t``, ``df`` and interval."""
    where = "welch"
    a, b = _values(a, "a", where), _values(b, "b", where)
    alpha = _check_level(alpha, "alpha", where)
    na, nb = a.size, b.size
    delta = float(a.mean() - b.mean())
    sd_a, sd_b = _sd(a), _sd(b)
    nan = float("nan")
    base = dict(test="Welch t", delta=delta, n_a=na, n_b=nb, sd_a=sd_a, sd_b=sd_b, confidence=1 - alpha)
    if na < 2 or nb < 2:
        return TestResult(ci_low=nan, ci_high=nan, t=nan, df=nan, p=nan, **base,
                          note=f"fewer than 2 seeds ({na} / {nb}): no spread to test against")
    if _no_spread(sd_a, a) and _no_spread(sd_b, b):
        return TestResult(ci_low=nan, ci_high=nan, t=nan, df=nan, p=nan, **base,
                          note="no spread in either arm (identical values): the t-test is undefined")
    va, vb = sd_a**2 / na, sd_b**2 / nb
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    t = delta / se
    p = float(min(1.0, 2 * _st.t.sf(abs(t), df)))
    half = float(_st.t.ppf(1 - alpha / 2, df)) * se
    return TestResult(ci_low=delta - half, ci_high=delta + half, t=t, df=df, p=p, **base)


def permutation_floor(n_a: int, n_b: int) -> float:
    """The smallest two-sided p-value an exact permutation test of two arms can give: 2 / C(n_a + n_b, n_a)
    (the observed labelling and its mirror). 3 + 3 seeds: 0.1, never significant; 4 + 4: 0.029;
    6 + 6: 0.0022, below 0.05 / 21 (a 21-claim Holm family's first step)."""
    return min(1.0, 2 / math.comb(n_a + n_b, n_a))


def permutation(a, b, seed: int = 0, alpha: float = ALPHA, max_exact: int = 20_000,
                n_resamples: int = 19_999) -> TestResult:
    """Two-sided permutation test of mean(a) − mean(b): p is the fraction of relabellings of the pooled values
    (keeping the arm sizes) whose |difference of means| reaches the observed one.

    Exact (every relabelling, the observed one included) when there are at most ``max_exact`` of them; otherwise
    Monte-Carlo with ``n_resamples`` random relabellings from ``numpy.random.default_rng(seed)`` and
    p = (1 + hits) / (1 + n_resamples), which never gives 0. Assumes only that the values are exchangeable
    under the null (same distribution in both arms), not normality; note its floor (:func:`permutation_floor`).
    ``delta`` is the observed difference; the interval, ``t`` and ``df`` are Welch's (a permutation test gives no
    interval by itself). Fewer than 2 values on a side: NaN ``p``, as :func:`welch`."""
    where = "permutation"
    w = welch(a, b, alpha)
    a, b = _values(a, "a", where), _values(b, "b", where)
    if not (isinstance(max_exact, int) and max_exact >= 1 and isinstance(n_resamples, int) and n_resamples >= 1):
        raise StatsError(f"{where}: max_exact and n_resamples must be positive integers")
    if w.min_n < 2:
        return replace(w, test="permutation")
    pooled, na, nb = np.concatenate([a, b]), a.size, b.size
    total = pooled.sum()
    n_comb = math.comb(na + nb, na)
    if n_comb <= max_exact:
        idx = np.array(list(itertools.combinations(range(na + nb), na)))  # (C, na); row 0 is the observed labelling
        sums = pooled[idx].sum(axis=1)
        diffs = sums / na - (total - sums) / nb
        obs = abs(diffs[0])
        p = float(np.mean(np.abs(diffs) >= obs * (1 - 1e-12) - 1e-12))
        kind = f"permutation (exact, {n_comb} relabellings)"
    else:
        rng = np.random.default_rng(seed)
        obs = abs(pooled[:na].mean() - pooled[na:].mean())
        hits, left = 0, n_resamples
        while left:
            k = min(left, 10_000)
            perm = rng.permuted(np.tile(pooled, (k, 1)), axis=1)
            sums = perm[:, :na].sum(axis=1)
            hits += int(np.sum(np.abs(sums / na - (total - sums) / nb) >= obs * (1 - 1e-12) - 1e-12))
            left -= k
        p = (1 + hits) / (1 + n_resamples)
        kind = f"permutation (Monte-Carlo, {n_resamples} relabellings, seed {seed})"
    note = "interval, t and df: Welch's" + (f"; {w.note}" if w.note else "")
    return replace(w, test=kind, p=p, note=note)


def one_sample(d, alpha: float = ALPHA) -> TestResult:
    """One-sample t-test of mean(d) against 0, two-sided, with its (1 − ``alpha``) confidence interval on
    n − 1 degrees of freedom. For per-model differences (Fig. 5: per seed, mean spread fusion − global).

    Assumes the values independent (one per trained model) and normal. Fewer than 2 values, or all equal: NaN
    ``p``."""
    where = "one_sample"
    d = _values(d, "d", where)
    alpha = _check_level(alpha, "alpha", where)
    n, delta, sd, nan = d.size, float(d.mean()), _sd(d), float("nan")
    base = dict(test="one-sample t", delta=delta, n_a=n, n_b=None, sd_a=sd, sd_b=None, confidence=1 - alpha)
    if n < 2:
        return TestResult(ci_low=nan, ci_high=nan, t=nan, df=nan, p=nan, **base,
                          note="fewer than 2 seeds: no spread to test against")
    if _no_spread(sd, d):
        return TestResult(ci_low=nan, ci_high=nan, t=nan, df=nan, p=nan, **base,
                          note="no spread (identical values): the t-test is undefined")
    se, df = sd / math.sqrt(n), n - 1
    t = delta / se
    p = float(min(1.0, 2 * _st.t.sf(abs(t), df)))
    half = float(_st.t.ppf(1 - alpha / 2, df)) * se
    return TestResult(ci_low=delta - half, ci_high=delta + half, t=t, df=float(df), p=p, **base)


def paired(a, b, alpha: float = ALPHA) -> TestResult:
    """Paired t-test of a − b (value i of each from the same model or seed): :func:`one_sample` of the
    differences, ``test`` named "paired t"."""
    a, b = _values(a, "a", "paired"), _values(b, "b", "paired")
    if a.size != b.size:
        raise StatsError(f"paired: a and b must pair up value by value, got {a.size} and {b.size} values")
    return replace(one_sample(a - b, alpha), test="paired t")


def holm(pvalues) -> np.ndarray:
    """Holm–Bonferroni step-down adjusted p-values, in the input's order.

    With the m non-NaN p-values sorted, p₍₁₎ ≤ … ≤ p₍ₘ₎, the adjusted p₍ᵢ₎ is max over j ≤ i of (m − j + 1)·p₍ⱼ₎,
    capped at 1: monotone in the raw p, never below it. Rejecting where the adjusted p < α controls the
    family-wise error rate at α under any dependence between the tests. NaN entries (claims without a test) stay
    NaN and are not counted in m."""
    try:
        p = np.asarray(pvalues, dtype=float)
    except (TypeError, ValueError) as e:
        raise StatsError(f"holm: p-values must be numbers ({e})") from None
    if p.ndim != 1:
        raise StatsError(f"holm: p-values must be a 1-D sequence, got shape {p.shape}")
    ok = ~np.isnan(p)
    bad = np.flatnonzero(ok & ~((p >= 0) & (p <= 1)))
    if bad.size:
        raise StatsError(f"holm: p-values must lie in [0, 1] (or be NaN for no test); "
                         f"got {p[bad].tolist()} at position(s) {bad.tolist()}")
    out = np.full(p.shape, np.nan)
    m = int(ok.sum())
    if m:
        raw = p[ok]
        order = np.argsort(raw, kind="stable")
        adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * raw[order]))
        res = np.empty(m)
        res[order] = adj
        out[ok] = res
    return out


@dataclass(frozen=True)
class AnovaResult:
    """One-way tests of "all groups have the same mean": classic ANOVA (``f``, ``df_between``, ``df_within``,
    ``p``; pooled variance) and Welch's ANOVA (``welch_*``; variances not assumed equal). ``used`` and
    ``excluded`` name the groups with ≥ 2 and < 2 values; everything is NaN when fewer than 2 groups are used."""

    f: float
    df_between: float
    df_within: float
    p: float
    welch_f: float
    welch_df1: float
    welch_df2: float
    welch_p: float
    used: tuple = ()
    excluded: tuple = ()
    note: str = ""

    @property
    def groups_used(self) -> int:
        return len(self.used)


def anova(groups) -> AnovaResult:
    """One-way ANOVA over several groups (e.g. the θ values of a sweep), given as a mapping label → values or a
    sequence of value arrays (labelled 0, 1, …). Groups with fewer than 2 values are excluded (``excluded``).

    Classic F (pooled within-group variance, N − k df) assumes independent normal values with equal variances;
    Welch's F (Welch 1951) drops equal variances, and is NaN when a group has no spread. Both test the null that
    all means are equal against "some differ"; neither says which."""
    where = "anova"
    items = list(groups.items()) if isinstance(groups, Mapping) else list(enumerate(groups))
    vals = {k: _values(v, f"group {k!r}", where, allow_empty=True) for k, v in items}
    used = tuple(k for k, v in vals.items() if v.size >= 2)
    excluded = tuple(k for k, v in vals.items() if v.size < 2)
    nan = float("nan")
    if len(used) < 2:
        return AnovaResult(nan, nan, nan, nan, nan, nan, nan, nan, used, excluded,
                           note=f"{len(used)} group(s) with ≥ 2 values: nothing to compare")
    xs = [vals[k] for k in used]
    n = np.array([x.size for x in xs], float)
    m = np.array([x.mean() for x in xs])
    v = np.array([x.var(ddof=1) for x in xs])
    k, big_n = len(xs), n.sum()
    grand = float((n * m).sum() / big_n)
    ssb, ssw = float((n * (m - grand) ** 2).sum()), float(((n - 1) * v).sum())
    dfb, dfw = k - 1, big_n - k
    notes = []
    if ssw <= 1e-24 * max(1.0, float(np.abs(np.concatenate(xs)).max())) ** 2:
        f = p = nan
        notes.append("no spread within any group: the classic F is undefined")
    else:
        f = (ssb / dfb) / (ssw / dfw)
        p = float(_st.f.sf(f, dfb, dfw))
    if any(_no_spread(math.sqrt(vi), x) for vi, x in zip(v, xs, strict=True)):
        wf = wdf2 = wp = nan
        notes.append("a group has no spread: Welch's F is undefined")
    else:
        w = n / v
        mw = float((w * m).sum() / w.sum())
        tmp = float(((1 - w / w.sum()) ** 2 / (n - 1)).sum())
        wf = float((w * (m - mw) ** 2).sum() / (k - 1) / (1 + 2 * (k - 2) * tmp / (k**2 - 1)))
        wdf2 = (k**2 - 1) / (3 * tmp)
        wp = float(_st.f.sf(wf, k - 1, wdf2))
    return AnovaResult(float(f), float(dfb), float(dfw), p, wf, float(k - 1), float(wdf2), wp, used, excluded,
                       note="; ".join(notes))


# ---------------------------------------------------------------------------------------------------------------
# Power: how many seeds would resolve a claim
# ---------------------------------------------------------------------------------------------------------------

def power_at(delta: float, sd_a: float, sd_b: float | None, n: int, alpha: float) -> float:
    """Power of the two-sided t-test at level ``alpha`` with ``n`` values per arm, if the true difference were
    ``delta`` and the arms' standard deviations ``sd_a`` and ``sd_b`` (``sd_b`` None: one-sample test, n − 1 df).

    Two arms: Welch's test, df from Welch–Satterthwaite at equal n, (sa² + sb²)²(n − 1)/(sa⁴ + sb⁴) (between
    n − 1 and 2n − 2; at equal spreads Student's 2n − 2). The statistic is noncentral t with noncentrality
    |delta| / se; power = P(|T| > t_crit), both tails."""
    where = "power_at"
    for name, sd in (("sd_a", sd_a), ("sd_b", sd_b)):
        if sd is not None and not (math.isfinite(sd) and sd >= 0):
            raise StatsError(f"{where}: {name} must be a finite standard deviation ≥ 0, got {sd!r}")
    if not math.isfinite(delta):
        raise StatsError(f"{where}: delta must be finite, got {delta!r}")
    if not (isinstance(n, int | np.integer) and n >= 2):
        raise StatsError(f"{where}: n must be an integer ≥ 2 (values per arm), got {n!r}")
    alpha = _check_level(alpha, "alpha", where)
    if sd_a**2 + (sd_b**2 if sd_b is not None else 0.0) == 0:
        raise StatsError(f"{where}: the standard deviations are all 0; a t-test has no power calculation without "
                         "spread")
    return float(_power_curve(delta, sd_a, sd_b, np.array([n]), alpha)[0])


def _power_curve(delta: float, sd_a: float, sd_b: float | None, ns: np.ndarray, alpha: float) -> np.ndarray:
    """:func:`power_at` for each ``n`` of ``ns`` at once (checked arguments; one call of scipy's distributions
    for all of them, as :func:`seeds_to_resolve` needs)."""
    ns = ns.astype(np.float64)
    var = sd_a**2 + (sd_b**2 if sd_b is not None else 0.0)
    df = ns - 1.0 if sd_b is None else var**2 * (ns - 1) / (sd_a**4 + sd_b**4)
    ncp = abs(delta) / np.sqrt(var / ns)
    crit = _st.t.ppf(1 - alpha / 2, df)
    # lower tail P(T < −crit) as P(T' > crit) with T' of noncentrality −ncp: scipy's nct.cdf gives NaN there once
    # ncp is large (≳ 5), while sf stays finite and agrees with cdf wherever both are
    p = _st.nct.sf(crit, df, ncp) + _st.nct.sf(crit, df, -ncp)
    # capped at 1, and 1 where scipy gives NaN (a noncentrality of ~1e10, spreads ~1e-17 of the difference)
    return np.where(p < 1.0, p, 1.0)


def seeds_to_resolve(delta: float, sd_a: float, sd_b: float | None, alpha: float, power: float = POWER,
                     max_seeds: int = MAX_SEEDS) -> int | None:
    """The fewest seeds per arm (2 … ``max_seeds``) with which a two-sided t-test at level ``alpha`` has at least
    ``power`` to detect a true difference of |``delta``| at standard deviations ``sd_a``, ``sd_b`` (see
    :func:`power_at`; ``sd_b`` None for a one-sample test). None when more than ``max_seeds`` would be needed, or
    ``delta`` is 0 (nothing to detect).

    Pass ``alpha`` = α/m for a Holm family of m tests: the level Holm's first step asks of the smallest p-value,
    the worst case for any claim, so the answer is conservative (enough seeds whatever the other claims do). The
    observed difference and spreads are plugged in as if they were the truth; with 3 seeds a standard deviation is
    itself uncertain by a factor of about 2, so read the answer as a planning estimate, not a promise.
    Monotone: more seeds for a smaller |delta| or for both spreads scaled up."""
    if not (isinstance(max_seeds, int) and max_seeds >= 2):
        raise StatsError(f"seeds_to_resolve: max_seeds must be an integer ≥ 2, got {max_seeds!r}")
    power = _check_level(power, "power", "seeds_to_resolve")
    if delta == 0:
        return None
    power_at(delta, sd_a, sd_b, 2, alpha)  # the arguments checked, with its messages
    ns = np.arange(2, max_seeds + 1)  # all at once: one scipy call is cheaper than stopping early
    enough = np.flatnonzero(_power_curve(delta, sd_a, sd_b, ns, alpha) >= power)
    return int(ns[enough[0]]) if enough.size else None


# ---------------------------------------------------------------------------------------------------------------
# Verdicts
# ---------------------------------------------------------------------------------------------------------------

def _paper_reports_none(paper_delta: float, threshold: float) -> bool:
    return abs(paper_delta) < threshold - 1e-9


def _resolve_hint(test: TestResult, family_size: int, alpha: float, power: float, max_seeds: int) -> str:
    """``"(k seeds would resolve it)"`` or ``"(> 10 seeds needed)"`` for a test with a p-value."""
    k = seeds_to_resolve(test.delta, test.sd_a, test.sd_b, alpha / max(1, family_size), power, max_seeds)
    return f"({k} seeds would resolve it)" if k is not None else f"(> {max_seeds} seeds needed)"


def claim_verdict(paper_delta: float, test: TestResult, p_adj: float, *, family_size: int = 1,
                  alpha: float = ALPHA, threshold: float = NO_EFFECT_THRESHOLD, power: float = POWER,
                  max_seeds: int = MAX_SEEDS) -> str:
    """The verdict (:data:`VOCABULARY`) on a claim of the paper, Δ = ``paper_delta``, given our ``test`` of the same
    difference and its Holm-adjusted p-value ``p_adj`` in a family of ``family_size`` tests.

    In order: fewer than 2 seeds on a side → *not resolved (1 seed)*; the paper's |Δ| below ``threshold`` → *no
    effect, as the paper* or *effect where the paper reports none* (by ``p_adj`` < ``alpha``); ``p_adj`` < ``alpha``
    → *supported* or *contradicted* by sign; else *not resolved* with what would resolve it
    (:func:`seeds_to_resolve` at the worst-case Holm level ``alpha / family_size``)."""
    where = "claim_verdict"
    if not isinstance(test, TestResult):
        raise StatsError(f"{where}: test must be a TestResult (from welch, permutation, one_sample or paired), "
                         f"got {type(test).__name__}")
    if not math.isfinite(paper_delta):
        raise StatsError(f"{where}: the paper's difference must be a finite number, got {paper_delta!r}")
    alpha = _check_level(alpha, "alpha", where)
    if not (math.isfinite(threshold) and threshold >= 0):
        raise StatsError(f"{where}: threshold must be a finite number ≥ 0 (0: the paper's sign is its claim), "
                         f"got {threshold!r}")
    if test.min_n < 2:
        return ONE_SEED
    if not test.has_p:
        return f"{NOT_RESOLVED} (no seed spread)"
    if not (isinstance(p_adj, int | float | np.floating) and 0 <= p_adj <= 1):
        raise StatsError(f"{where}: p_adj must be the Holm-adjusted p-value in [0, 1], got {p_adj!r}")
    if p_adj < test.p - 1e-12:
        raise StatsError(f"{where}: p_adj = {p_adj:g} is below the raw p = {test.p:g}; pass the adjusted p-value")
    significant = p_adj < alpha
    if _paper_reports_none(paper_delta, threshold):
        return EFFECT_NOT_REPORTED if significant else NO_EFFECT
    if significant:
        return SUPPORTED if (test.delta > 0) == (paper_delta > 0) else CONTRADICTED
    return f"{NOT_RESOLVED} {_resolve_hint(test, family_size, alpha, power, max_seeds)}"


@dataclass(frozen=True)
class Claim:
    """One line of a verdict table: the paper's claim (``claim`` text, ``table`` label, the paper's ``paper_delta``)
    and our evidence, either the values of the two arms ``a`` and ``b`` (Δ = mean(a) − mean(b)) or a ``result``
    computed beforehand (one-sample or paired claims, e.g. Fig. 5). ``primary`` False: a secondary metric (mAP)
    shown without entering the Holm family and without a verdict (*descriptive*).

    ``no_effect_below`` is the paper |Δ| under which the paper reports no effect, in the claim's own units: the
    default :data:`NO_EFFECT_THRESHOLD` is in rank-1 points. For a claim the paper states only as a direction
    (Fig. 5: "the fusion branch attends to a wider area"), pass ``paper_delta`` = ±1 and ``no_effect_below`` = 0.
    ``extra``: more columns for this claim's row (e.g. the rows compared)."""

    claim: str
    paper_delta: float
    a: Sequence[float] | None = None
    b: Sequence[float] | None = None
    result: TestResult | None = None
    table: str = ""
    metric: str = "R1"
    primary: bool = True
    no_effect_below: float = NO_EFFECT_THRESHOLD
    extra: dict = field(default_factory=dict)


def _claim(c) -> Claim:
    if isinstance(c, Claim):
        return c
    if isinstance(c, Mapping):
        names = {f.name for f in fields(Claim)}
        unknown = set(c) - names
        if unknown:
            raise StatsError(f"verdict_table: unknown claim key(s) {sorted(unknown)}; known: {sorted(names)}")
        return Claim(**c)
    raise StatsError(f"verdict_table: a claim must be a Claim or a mapping of its fields, got {type(c).__name__}")


def verdict_table(claims: Iterable, *, alpha: float = ALPHA, power: float = POWER, max_seeds: int = MAX_SEEDS,
                  test: str = "welch", seed: int = 0) -> pd.DataFrame:
    """One row per claim: Δ, 95 % interval, p, Holm-adjusted p, verdict, seeds, and what would resolve it.

    The Holm family is every primary claim passed in **one call** (the report's whole set of rank-1 claims);
    ``table`` only labels rows. Claims without a p-value (1 seed, no spread) are shown but not counted in the
    family. The intervals are per claim (unadjusted 95 %) while verdicts use the adjusted p, so an interval may
    exclude 0 where the verdict is not significant; "what would resolve it" then says (for *not resolved* and *no
    effect, as the paper*) how many seeds would show the observed Δ at the family's worst-case Holm level.
    Secondary lines (``primary=False``, e.g. the mAP of the same comparison) get Δ, interval and raw p,
    no adjusted p and the verdict *descriptive*: they do not change the family. Two-arm claims are tested with
    ``test`` = "welch" or "permutation" (exact or Monte-Carlo with ``seed``; its interval is Welch's). Each claim's
    own ``no_effect_below`` decides whether the paper reports no effect (:class:`Claim`).

    Columns: table, claim, metric, paper Δ, ours Δ, CI low, CI high, p, adjusted p, verdict, seeds,
    what would resolve it, test, plus any keys of a claim's ``extra`` (a key among these columns overrides the
    computed value, e.g. ``seeds`` for a claim whose units are not seeds). ``df.attrs`` holds alpha and family_size."""
    if test not in ("welch", "permutation"):
        raise StatsError(f"verdict_table: test must be 'welch' or 'permutation', got {test!r}")
    alpha = _check_level(alpha, "alpha", "verdict_table")
    cs = [_claim(c) for c in claims]
    results = []
    for c in cs:
        if c.result is not None:
            if c.a is not None or c.b is not None:
                raise StatsError(f"verdict_table: claim {c.claim!r} has both a result and values a/b; give one")
            if not isinstance(c.result, TestResult):
                raise StatsError(f"verdict_table: claim {c.claim!r}: result must be a TestResult")
            results.append(c.result)
        elif c.a is None or c.b is None:
            raise StatsError(f"verdict_table: claim {c.claim!r} needs both arms a and b, or a precomputed result")
        else:
            try:
                r = welch(c.a, c.b, alpha) if test == "welch" else permutation(c.a, c.b, seed=seed, alpha=alpha)
            except StatsError as e:
                raise StatsError(f"claim {c.claim!r}: {e}") from None
            results.append(r)
    p_family = np.array([r.p if c.primary and r.min_n >= 2 else np.nan for c, r in zip(cs, results, strict=True)],
                        dtype=float)
    adjusted = holm(p_family)
    m = int((~np.isnan(p_family)).sum())
    rows = []
    for c, r, adj in zip(cs, results, adjusted, strict=True):
        if c.primary:
            verdict = claim_verdict(c.paper_delta, r, float(adj) if r.has_p else float("nan"), family_size=m,
                                    alpha=alpha, threshold=c.no_effect_below, power=power, max_seeds=max_seeds)
        else:
            verdict = f"{DESCRIPTIVE} ({c.metric}; not in the Holm family)"
        name = verdict_name(verdict)
        if name == ONE_SEED:
            resolve = "≥ 2 seeds per side (no spread to test against)"
        elif name == NOT_RESOLVED and not r.has_p:
            resolve = "seeds that differ (no spread: the t-test is undefined)"
        elif name == NOT_RESOLVED:
            k = seeds_to_resolve(r.delta, r.sd_a, r.sd_b, alpha / max(1, m), power, max_seeds)
            resolve = (f"{k} seeds per side (power {power * 100:.0f} % at α/m = {alpha / max(1, m):.2g})"
                       if k is not None else f"more than {max_seeds} seeds per side at the observed spread")
        elif name == NO_EFFECT and r.delta != 0:
            # a verdict already, but an observed difference may still be real: say what would show it
            k = seeds_to_resolve(r.delta, r.sd_a, r.sd_b, alpha / max(1, m), power, max_seeds)
            resolve = (f"if our Δ is real, {k} seeds per side would show it (power {power * 100:.0f} % at "
                       f"α/m = {alpha / max(1, m):.2g})" if k is not None
                       else f"if our Δ is real, more than {max_seeds} seeds per side would be needed to show it")
        else:
            resolve = ""
        if r.min_n < 2:  # a precomputed result from one seed: never show a p-value or an interval
            r = replace(r, p=float("nan"), ci_low=float("nan"), ci_high=float("nan"))
        rows.append({"table": c.table, "claim": c.claim, "metric": c.metric, "paper Δ": float(c.paper_delta),
                     "ours Δ": r.delta, "CI low": r.ci_low, "CI high": r.ci_high, "p": r.p,
                     "adjusted p": float(adj), "verdict": verdict, "seeds": r.seeds,
                     "what would resolve it": resolve, "test": r.test, **c.extra})
    cols = ["table", "claim", "metric", "paper Δ", "ours Δ", "CI low", "CI high", "p", "adjusted p", "verdict",
            "seeds", "what would resolve it", "test"]
    df = pd.DataFrame(rows, columns=cols + [k for k in dict.fromkeys(k for c in cs for k in c.extra) if k not in cols])
    df.attrs.update(alpha=alpha, family_size=m)
    return df


# ---------------------------------------------------------------------------------------------------------------
# θ sweeps (Fig. 4)
# ---------------------------------------------------------------------------------------------------------------

def theta_verdict(values_by_theta: Mapping[float, Sequence[float]], chosen: float, *, alpha: float = ALPHA,
                  adjusted: Mapping[float, float] | None = None) -> dict:
    """The paper's choice of θ (``chosen``) on a sweep, given the per-seed values (rank-1) at each θ.

    First, whether θ matters at all: :func:`anova` over the θ values with ≥ 2 seeds (the classic F decides: the
    sweep's arms have equal seed counts by design, and the pooled variance is far steadier than Welch's per-group
    weights with 3 seeds; Welch's F is reported beside it). Then the paper's θ against every other θ: Welch's t of
    mean(chosen) − mean(other), Holm over those comparisons — or, to put them into a larger family (the report's),
    pass that family's ``adjusted`` p-values by θ (get the raw ones from ``p_values`` of a first call).

    Verdict: *not resolved (1 seed)* with < 2 seeds at the paper's θ; *contradicted* when another θ beats it
    significantly after correction; *supported* when it beats every other θ significantly; else *consistent*
    (within noise of the best). The reading *θ does not matter here* follows when the ANOVA is not significant.

    Returns a dict: verdict (the full string), verdict_name, reading (one sentence), chosen, chosen_mean,
    chosen_seeds, best_theta, best_mean (highest mean over all θ run), anova (:class:`AnovaResult`),
    theta_matters (bool, None when untestable), comparisons (DataFrame: θ, mean, seeds, Δ = chosen − θ, CI low,
    CI high, p, adjusted p, result), p_values (θ → raw p, NaN without a test)."""
    where = "theta_verdict"
    alpha = _check_level(alpha, "alpha", where)
    if not isinstance(values_by_theta, Mapping) or not values_by_theta:
        raise StatsError(f"{where}: values_by_theta must be a non-empty mapping θ → per-seed values")
    vals = {float(th): _values(v, f"values at θ = {th:g}", where, allow_empty=True)
            for th, v in values_by_theta.items()}
    match = [th for th in vals if abs(th - chosen) < 1e-9]
    if not match:
        raise StatsError(f"{where}: the paper's θ = {chosen:g} is not among the θ values given "
                         f"({', '.join(f'{th:g}' for th in sorted(vals))})")
    chosen = match[0]
    ch = vals[chosen]
    if ch.size == 0:
        raise StatsError(f"{where}: no values at the paper's θ = {chosen:g}; run it before asking for a verdict")
    an = anova({th: v for th, v in sorted(vals.items())})
    means = {th: float(v.mean()) for th, v in vals.items() if v.size}
    best = max(means, key=lambda th: (means[th], th == chosen))
    rows = []
    for th in sorted(vals):
        if th == chosen:
            continue
        r = welch(ch, vals[th], alpha) if vals[th].size else None
        rows.append({"θ": th, "mean": means.get(th, float("nan")), "seeds": int(vals[th].size),
                     "Δ": r.delta if r else float("nan"), "CI low": r.ci_low if r else float("nan"),
                     "CI high": r.ci_high if r else float("nan"), "p": r.p if r else float("nan"), "result": r})
    comp = pd.DataFrame(rows, columns=["θ", "mean", "seeds", "Δ", "CI low", "CI high", "p", "adjusted p", "result"])
    p_values = {row["θ"]: row["p"] for row in rows}
    if adjusted is None:
        comp["adjusted p"] = holm(comp["p"].to_numpy(float)) if len(comp) else []
    else:
        missing = [th for th, p in p_values.items() if not math.isnan(p)
                   and not any(abs(float(k) - th) < 1e-9 for k in adjusted)]
        if missing:
            raise StatsError(f"{where}: adjusted has no p-value for θ = {', '.join(f'{t:g}' for t in missing)}")
        lookup = {float(k): float(v) for k, v in adjusted.items()}
        comp["adjusted p"] = [next((lookup[k] for k in lookup if abs(k - th) < 1e-9), float("nan"))
                              if not math.isnan(p) else float("nan") for th, p in p_values.items()]
        bad = [th for th, p, a in zip(comp["θ"], comp["p"], comp["adjusted p"], strict=True)
               if not math.isnan(p) and not (p - 1e-12 <= a <= 1)]
        if bad:
            raise StatsError(f"{where}: adjusted p-values must lie between the raw p and 1 (θ = "
                             f"{', '.join(f'{t:g}' for t in bad)})")
    sig = comp["adjusted p"] < alpha
    better = comp[sig & (comp["Δ"] < 0)]
    theta_matters = None if math.isnan(an.p) else bool(an.p < alpha)
    if ch.size < 2:
        verdict = ONE_SEED
    elif len(better):
        verdict = CONTRADICTED
    elif len(comp) and bool((sig & (comp["Δ"] > 0)).all()):
        verdict = SUPPORTED
    else:
        verdict = CONSISTENT
    name = verdict
    if an.groups_used < 2:
        anova_text = "θ's effect is untested (fewer than 2 θ values with ≥ 2 seeds)"
    elif theta_matters is None:
        anova_text = f"θ's effect is untested: {an.note}"
    else:
        anova_text = f"one-way ANOVA over {an.groups_used} θ values: F = {an.f:.2f}, p = {an.p:.2g}"
    if verdict == CONTRADICTED:
        top = better.loc[better["Δ"].idxmin()]
        detail = (f"θ = {top['θ']:g} beats it by {-top['Δ']:.2f} (adjusted p = {top['adjusted p']:.2g})"
                  + (f" and {len(better) - 1} other θ value(s) too" if len(better) > 1 else ""))
    elif verdict == SUPPORTED:
        detail = f"it beats all {len(comp)} other θ values (largest adjusted p = {comp['adjusted p'].max():.2g})"
    elif verdict == CONSISTENT:
        detail = (f"no other θ is significantly better (best mean at θ = {best:g}, {means[best] - means[chosen]:.2f} "
                  "above it)" if best != chosen
                  else "no other θ has a higher mean, but it is not significantly above every other θ")
    else:
        detail = f"{ch.size} seed at the paper's θ"
    if theta_matters is False:
        verdict = f"{verdict}; {THETA_FLAT} ({anova_text})"
        reading = f"{name} (the paper's θ = {chosen:g}): {detail}; {THETA_FLAT} ({anova_text})."
    else:
        tail = ("θ matters" if theta_matters else "") + (f" ({anova_text})" if theta_matters else anova_text)
        reading = f"{name} (the paper's θ = {chosen:g}): {detail}; {tail}."
    return {"verdict": verdict, "verdict_name": name, "reading": reading, "chosen": chosen,
            "chosen_mean": means[chosen], "chosen_seeds": int(ch.size), "best_theta": best, "best_mean": means[best],
            "anova": an, "theta_matters": theta_matters, "comparisons": comp, "p_values": p_values}
