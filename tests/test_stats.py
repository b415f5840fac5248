"""The statistics behind the verdicts give known answers on hand-made cases: Welch's t against a hand computation,
a published example and scipy; Holm on a textbook example; an exact permutation p by enumeration; power against
Cohen's sample-size tables; every word of the verdict vocabulary from a case built for it; θ sweeps."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sst

from vireid_lib import stats as S
from vireid_lib.stats import (
    CONSISTENT,
    CONTRADICTED,
    EFFECT_NOT_REPORTED,
    NO_EFFECT,
    NO_EFFECT_THRESHOLD,
    NOT_RESOLVED,
    ONE_SEED,
    SUPPORTED,
    THETA_FLAT,
    VOCABULARY,
    StatsError,
    claim_verdict,
    holm,
    verdict_name,
    verdict_table,
)

# Wikipedia, "Welch's t-test", example 1 (also Rosetta Code's "Welch's t-test" d1, d2): published p = 0.021
WIKI_A1 = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]
WIKI_A2 = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]
THETAS = [round(0.2 * i, 1) for i in range(11)]  # Fig. 4's grid, θ ∈ [0, 2]


# --- Welch, one-sample, paired ---------------------------------------------------------------------------------

def test_welch_matches_a_hand_computation():
    # a = [1, 2, 3]: mean 2, var 1; b = [4, 6, 8]: mean 6, var 4. se² = 1/3 + 4/3 = 5/3,
    # df = (5/3)² / ((1/3)²/2 + (4/3)²/2) = (25/9) / (17/18) = 50/17
    r = S.welch([1, 2, 3], [4, 6, 8])
    se, df = math.sqrt(5 / 3), 50 / 17
    assert r.delta == -4 and r.n_a == r.n_b == 3 and (r.sd_a, r.sd_b) == (1, 2)
    assert r.df == pytest.approx(df, rel=1e-12) and r.t == pytest.approx(-4 / se, rel=1e-12)
    assert r.p == pytest.approx(2 * sst.t.cdf(-4 / se, df), rel=1e-10)
    half = sst.t.ppf(0.975, df) * se
    assert (r.ci_low, r.ci_high) == (pytest.approx(-4 - half), pytest.approx(-4 + half))
    assert 0.05 < r.p < 0.06 and r.ci_low < 0 < r.ci_high  # not significant, and the interval agrees
    assert r.seeds == "3 / 3" and r.test == "Welch t"


def test_welch_on_the_published_example():
    r = S.welch(WIKI_A1, WIKI_A2)
    assert round(r.p, 3) == 0.021
    assert round(r.t, 2) == -2.46 and round(r.df, 1) == 25.0


@pytest.mark.parametrize("a, b", [(WIKI_A1, WIKI_A2), ([1, 2, 3], [4, 6, 8]), ([30.1, 31.5, 29.8, 33.0], [28.0, 27.5]),
                                  ([5.0, 5.1], [1.0, 9.0, 4.0, 7.5, 2.2])])
def test_welch_agrees_with_scipy(a, b):
    r = S.welch(a, b)
    ref = sst.ttest_ind(a, b, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert r.t == pytest.approx(ref.statistic) and r.p == pytest.approx(ref.pvalue) and r.df == pytest.approx(ref.df)
    assert r.ci_low == pytest.approx(ci.low) and r.ci_high == pytest.approx(ci.high)
    r90, ci90 = S.welch(a, b, alpha=0.10), ref.confidence_interval(0.90)
    assert r90.ci_low == pytest.approx(ci90.low) and r90.confidence == pytest.approx(0.90)


def test_fewer_than_two_values_give_no_p_value():
    for r in (S.welch([30.0], [20, 21, 22]), S.welch([30, 31], [20.0]), S.permutation([30.0], [20, 21, 22]),
              S.one_sample([0.3])):
        assert r.min_n == 1 and not r.has_p
        assert all(math.isnan(x) for x in (r.p, r.t, r.df, r.ci_low, r.ci_high))
    assert S.welch([30.0], [20, 21, 22]).delta == 9  # the difference itself is still measured


def test_no_spread_gives_no_p_value_and_says_why():
    r = S.welch([0.1, 0.1, 0.1], [0.3, 0.3, 0.3])
    assert not r.has_p and "no spread" in r.note
    r = S.welch([1, 1, 1], [2, 3, 4])  # one arm without spread is fine: df = n_b − 1
    assert r.df == pytest.approx(2) and r.has_p


def test_one_sample_and_paired_agree_with_scipy():
    d = [-0.31, -0.25, -0.28, -0.19]
    r, ref = S.one_sample(d), sst.ttest_1samp(d, 0)
    ci = ref.confidence_interval(0.95)
    assert r.p == pytest.approx(ref.pvalue) and r.t == pytest.approx(ref.statistic) and r.df == 3
    assert (r.ci_low, r.ci_high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert r.n_b is None and r.sd_b is None and r.seeds == "4" and r.min_n == 4
    g, f = [0.42, 0.40, 0.45], [0.12, 0.11, 0.15]
    rp = S.paired(f, g)
    assert rp.p == pytest.approx(sst.ttest_rel(f, g).pvalue) and rp.test == "paired t"
    with pytest.raises(StatsError, match="pair up"):
        S.paired([1, 2, 3], [1, 2])


@pytest.mark.parametrize("call, match", [
    (lambda: S.welch([1, float("nan"), 3], [1, 2]), r"a has 1 NaN or infinite value\(s\) at position\(s\) \[1\]"),
    (lambda: S.welch([1, 2], [np.inf, 2]), "b has 1 NaN or infinite"),
    (lambda: S.welch([], [1, 2]), "a is empty"),
    (lambda: S.welch([[1, 2], [3, 4]], [1, 2]), "1-D"),
    (lambda: S.welch(["x", "y"], [1, 2]), "must be numbers"),
    (lambda: S.welch([1, 2], [3, 4], alpha=1.5), "alpha must be a number strictly between 0 and 1"),
    (lambda: S.one_sample([]), "d is empty"),
    (lambda: holm([0.2, 1.3]), r"\[0, 1\]"),
    (lambda: holm([[0.1], [0.2]]), "1-D"),
    (lambda: S.seeds_to_resolve(1.0, 0.0, 0.0, 0.05), "no power calculation without spread"),
    (lambda: S.seeds_to_resolve(1.0, -1.0, 1.0, 0.05), "sd_a must be a finite standard deviation"),
    (lambda: S.seeds_to_resolve(1.0, 1.0, 1.0, 0.05, max_seeds=1), "max_seeds"),
])
def test_bad_input_says_what_was_wrong(call, match):
    with pytest.raises(StatsError, match=match):
        call()


# --- permutation ------------------------------------------------------------------------------------------------

def _enumerated_p(a, b):
    """Two-sided exact permutation p by brute force: every way to choose which pooled values form arm a."""
    pooled, obs = list(a) + list(b), abs(np.mean(a) - np.mean(b))
    hits = total = 0
    for idx in itertools.combinations(range(len(pooled)), len(a)):
        xa = [pooled[i] for i in idx]
        xb = [pooled[i] for i in range(len(pooled)) if i not in idx]
        total += 1
        hits += abs(np.mean(xa) - np.mean(xb)) >= obs - 1e-9
    return hits / total


@pytest.mark.parametrize("a, b", [([1, 5, 3, 9], [2, 4]), ([30.2, 31.9, 29.4], [27.1, 28.8, 30.0, 26.5]),
                                  ([1, 2, 3], [4, 6, 8]), ([2, 2, 5], [2, 5, 5])])
def test_exact_permutation_p_equals_enumeration(a, b):
    r = S.permutation(a, b)
    assert r.p == pytest.approx(_enumerated_p(a, b), abs=1e-12)
    assert r.test.startswith("permutation (exact") and "Welch" in r.note
    w = S.welch(a, b)
    assert (r.delta, r.ci_low, r.ci_high, r.t) == (w.delta, w.ci_low, w.ci_high, w.t)  # interval: Welch's


def test_exact_permutation_agrees_with_scipy_for_equal_arms():
    # with equal arm sizes the null distribution is symmetric, so scipy's 2·min(one-sided) equals P(|T| ≥ |t|)
    a, b = [30.2, 31.9, 29.4, 33.0], [27.1, 28.8, 30.0, 26.5]
    ref = sst.permutation_test((a, b), lambda x, y: np.mean(x) - np.mean(y), permutation_type="independent",
                               n_resamples=np.inf, alternative="two-sided")
    assert S.permutation(a, b).p == pytest.approx(ref.pvalue)


def test_permutation_floor_and_monte_carlo():
    assert S.permutation_floor(3, 3) == pytest.approx(0.1)  # 3 + 3 seeds can never reach p < 0.05
    assert S.permutation([1, 2, 3], [10, 11, 12]).p == pytest.approx(0.1)
    assert S.permutation_floor(6, 6) < 0.05 / 21
    rng = np.random.default_rng(1)
    a, b = rng.normal(1.0, 1, 8), rng.normal(0, 1, 8)  # C(16, 8) = 12,870 relabellings
    exact = S.permutation(a, b).p
    mc = S.permutation(a, b, seed=3, max_exact=100, n_resamples=20_000)
    assert mc.test.startswith("permutation (Monte-Carlo") and mc.p == S.permutation(a, b, seed=3, max_exact=100,
                                                                                    n_resamples=20_000).p
    assert abs(mc.p - exact) < 4 * math.sqrt(exact * (1 - exact) / 20_000) + 1e-4


# --- Holm -------------------------------------------------------------------------------------------------------

def test_holm_textbook_example():
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → max(0.06, 0.04) = 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert holm([]).size == 0 and holm([0.02]) == pytest.approx([0.02])


def test_holm_leaves_nan_out_of_the_family():
    out = holm([0.01, float("nan"), 0.04, 0.03, 0.005, float("nan")])
    assert np.isnan(out[[1, 5]]).all()
    assert out[[0, 2, 3, 4]] == pytest.approx([0.03, 0.06, 0.06, 0.02])  # m = 4, as without the NaNs
    assert np.isnan(holm([float("nan")])).all()


def _holm_naive(p):
    m, order = len(p), sorted(range(len(p)), key=lambda i: p[i])
    out, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=25))
def test_holm_is_monotone_never_below_raw_and_matches_a_naive_version(p):
    adj = holm(p)
    assert adj == pytest.approx(_holm_naive(p))
    assert (adj >= np.array(p) - 1e-15).all() and (adj <= 1).all()
    order = np.argsort(p, kind="stable")
    assert (np.diff(adj[order]) >= -1e-15).all()


# --- ANOVA ------------------------------------------------------------------------------------------------------

def test_anova_hand_computation_and_scipy():
    # means 2, 5, 8; grand mean 5; SSB = 3·(9 + 0 + 9) = 54 on 2 df, SSW = 2 + 2 + 2 = 6 on 6 df → F = 27
    groups = {"x": [1, 2, 3], "y": [4, 5, 6], "z": [7, 8, 9]}
    r = S.anova(groups)
    assert r.f == pytest.approx(27) and (r.df_between, r.df_within) == (2, 6)
    assert r.p == pytest.approx(sst.f.sf(27, 2, 6)) and r.used == ("x", "y", "z") and r.groups_used == 3
    rng = np.random.default_rng(0)
    gs = [rng.normal(m, s, n) for m, s, n in ((30, 1, 3), (31, 2, 4), (29, 0.5, 3), (30.5, 3, 5))]
    r = S.anova(gs)
    assert r.f == pytest.approx(sst.f_oneway(*gs).statistic) and r.p == pytest.approx(sst.f_oneway(*gs).pvalue)
    welch_ref = sst.f_oneway(*gs, equal_var=False)
    assert r.welch_f == pytest.approx(welch_ref.statistic) and r.welch_p == pytest.approx(welch_ref.pvalue)


def test_anova_of_two_groups_is_the_t_test_squared():
    a, b = [30.2, 31.9, 29.4, 33.0], [27.1, 28.8, 30.0]
    r = S.anova([a, b])
    assert r.f == pytest.approx(sst.ttest_ind(a, b).statistic ** 2) and r.p == pytest.approx(sst.ttest_ind(a, b).pvalue)
    w = S.welch(a, b)
    assert r.welch_f == pytest.approx(w.t**2) and r.welch_df2 == pytest.approx(w.df) and r.welch_p == pytest.approx(w.p)


def test_anova_excludes_groups_with_fewer_than_two_values():
    r = S.anova({0.0: [1, 2, 3], 0.2: [5.0], 0.4: [], 0.6: [2, 3, 4]})
    assert r.used == (0.0, 0.6) and r.excluded == (0.2, 0.4) and r.groups_used == 2
    r = S.anova({0.0: [1, 2, 3], 0.2: [5.0]})
    assert r.groups_used == 1 and math.isnan(r.p) and "nothing to compare" in r.note


# --- power ------------------------------------------------------------------------------------------------------

def test_seeds_match_cohens_tables():
    # Cohen (1988), two-sided α = 0.05, power 0.8: d = 1.0 → 17 per group, 0.8 → 26, 0.5 → 64
    assert S.seeds_to_resolve(1.0, 1, 1, 0.05, max_seeds=100) == 17
    assert S.seeds_to_resolve(0.8, 1, 1, 0.05, max_seeds=100) == 26
    assert S.seeds_to_resolve(0.5, 1, 1, 0.05, max_seeds=100) == 64
    assert S.power_at(1.0, 1, 1, 17, 0.05) == pytest.approx(0.807, abs=1e-3)


def test_power_stays_finite_at_a_large_noncentrality():
    # Δ = 7.19, sd 0.5 + 0.5, 2 seeds, α = 0.01: noncentrality 14.4 on 2 df, where scipy's nct.cdf of the lower tail
    # is NaN; 10⁶ simulated noncentral t draws give P(|T| > t_crit) = 0.8735 (standard error 0.0003)
    assert S.power_at(7.19, 0.5, 0.5, 2, 0.01) == pytest.approx(0.8735, abs=0.002)
    assert S.seeds_to_resolve(7.19, 0.5, 0.5, 0.01) == 2


def test_large_effects_need_few_seeds_and_tiny_ones_none():
    assert S.seeds_to_resolve(10.0, 1.0, 1.0, 0.05 / 21) <= 4
    assert S.seeds_to_resolve(-10.0, 1.0, 1.0, 0.05) == S.seeds_to_resolve(10.0, 1.0, 1.0, 0.05)
    assert S.seeds_to_resolve(0.1, 1.0, 1.0, 0.05) is None
    assert S.seeds_to_resolve(0.0, 1.0, 1.0, 0.05) is None
    assert S.seeds_to_resolve(2.0, 0.5, None, 0.05) == 3  # one-sample: n − 1 df


@settings(max_examples=60, deadline=None)
@given(st.floats(0.1, 20), st.floats(0.1, 20), st.floats(0.2, 5), st.floats(0.2, 5), st.floats(1.0, 3.0))
def test_seeds_are_monotone_in_delta_and_spread(d1, d2, sa, sb, scale):
    """Fewer or as many seeds for a larger |Δ|; more or as many when both spreads grow by the same factor (df
    depends only on their ratio, so the comparison is clean)."""
    inf = 10**6

    def k(d, a, b):
        n = S.seeds_to_resolve(d, a, b, 0.01)
        return inf if n is None else n

    small, large = sorted((d1, d2))
    assert k(large, sa, sb) <= k(small, sa, sb)
    assert k(small, sa, sb) <= k(small, sa * scale, sb * scale)


# --- the vocabulary ---------------------------------------------------------------------------------------------

def test_vocabulary_is_defined_once_and_every_verdict_belongs_to_it():
    for name in (SUPPORTED, CONTRADICTED, NO_EFFECT, EFFECT_NOT_REPORTED, NOT_RESOLVED, ONE_SEED, CONSISTENT,
                 THETA_FLAT, S.DESCRIPTIVE):
        assert VOCABULARY[name]
    assert verdict_name("not resolved (4 seeds would resolve it)") == NOT_RESOLVED
    assert verdict_name(ONE_SEED) == ONE_SEED
    assert verdict_name("consistent; θ does not matter here (…)") == CONSISTENT
    with pytest.raises(StatsError, match="not a verdict"):
        verdict_name("within noise")
    assert S.vocabulary_markdown().count("\n- *") == len(VOCABULARY) - 1


STRONG_UP, STRONG_DOWN = ([31, 32, 34], [20, 22, 18]), ([20, 22, 18], [31, 32, 34])
NOISY = ([29, 31, 30], [31, 32, 30])  # Δ = −1 against a spread of ≈ 1


@pytest.mark.parametrize("paper, arms, expected", [
    (7.01, STRONG_UP, SUPPORTED),
    (-4.98, STRONG_UP, CONTRADICTED),
    (4.26, STRONG_DOWN, CONTRADICTED),
    (-0.09, NOISY, NO_EFFECT),
    (-0.09, STRONG_DOWN, EFFECT_NOT_REPORTED),
    (0.18, STRONG_UP, EFFECT_NOT_REPORTED),
    (2.89, NOISY, "not resolved (> 10 seeds needed)"),
    (2.89, ([30.0], [31, 32, 30]), ONE_SEED),
    (2.89, ([29, 31, 30], [31.0]), ONE_SEED),
])
def test_each_verdict_from_a_hand_made_case(paper, arms, expected):
    r = S.welch(*arms)
    assert claim_verdict(paper, r, r.p) == expected


def test_not_resolved_says_how_many_seeds_would_resolve_it():
    a, b = [31.0, 33.5, 30.2], [29.0, 30.4, 28.1]  # Δ ≈ 2.4, sd ≈ 1.2–1.7: a few more seeds would do
    r = S.welch(a, b)
    k = S.seeds_to_resolve(r.delta, r.sd_a, r.sd_b, 0.05)
    assert r.p > 0.05 and k is not None and 3 < k <= 10
    assert claim_verdict(2.0, r, r.p) == f"not resolved ({k} seeds would resolve it)"
    # in a family of 20 the worst-case Holm level is 0.05 / 20: more seeds are needed
    k20 = S.seeds_to_resolve(r.delta, r.sd_a, r.sd_b, 0.05 / 20)
    v20 = claim_verdict(2.0, r, min(1.0, 20 * r.p), family_size=20)
    assert v20 == (f"not resolved ({k20} seeds would resolve it)" if k20 else "not resolved (> 10 seeds needed)")
    assert k20 is None or k20 > k


def test_the_no_effect_threshold_is_half_a_rank1_point_and_reaching_it_is_an_effect():
    assert NO_EFFECT_THRESHOLD == 0.5
    r = S.welch(*NOISY)
    assert claim_verdict(70.18 - 69.68, r, r.p) != NO_EFFECT  # Table 4, Joint-to-Global: +0.50 is a claimed effect
    assert claim_verdict(69.68 - 69.59, r, r.p) == NO_EFFECT  # Table 3, L_id alone: +0.09, "marginal"


def test_a_significant_raw_p_that_holm_adjusts_away_is_not_supported():
    r = S.welch([31, 32, 33.5], [28, 29.5, 29])
    assert r.p < 0.05
    assert claim_verdict(3.0, r, r.p) == SUPPORTED
    assert verdict_name(claim_verdict(3.0, r, min(1.0, 21 * r.p), family_size=21)) == NOT_RESOLVED


def test_claim_verdict_rejects_an_adjusted_p_below_the_raw_one():
    r = S.welch(*NOISY)
    with pytest.raises(StatsError, match="below the raw p"):
        claim_verdict(2.89, r, r.p / 2)
    with pytest.raises(StatsError, match="finite"):
        claim_verdict(float("nan"), r, r.p)


def test_verdict_table_columns_family_and_secondary_metric():
    claims = [
        {"claim": "+RCC over Baseline", "table": "Table 1", "paper_delta": 7.01, "a": STRONG_UP[0], "b": STRONG_UP[1]},
        {"claim": "none vs L_id", "table": "Table 3", "paper_delta": -0.09, "a": STRONG_DOWN[0], "b": STRONG_DOWN[1]},
        {"claim": "+DML over +RCC+CRE+Fusion", "table": "Table 1", "paper_delta": 2.89, "a": NOISY[0], "b": NOISY[1]},
        {"claim": "+DML over +RCC+CRE+Fusion", "table": "Table 1", "paper_delta": 2.95, "metric": "mAP",
         "primary": False, "a": [31.0, 33.2, 32.1], "b": [33.0, 32.8, 34.1]},
        S.Claim("pending row", 1.0, a=[30.0], b=[29, 30, 31], table="Table 2"),
        S.Claim("Fig. 5: fusion wider than global", 1.0, result=S.one_sample([-0.31, -0.25, -0.28]), table="Fig. 5",
                no_effect_below=0.0),  # the paper gives a direction only
    ]
    df = verdict_table(claims)
    for col in ("claim", "paper Δ", "ours Δ", "CI low", "CI high", "p", "adjusted p", "verdict", "seeds"):
        assert col in df.columns
    assert df.attrs["family_size"] == 4  # the mAP line and the 1-seed claim are not in the family
    primary = df.index[[0, 1, 2, 5]]
    assert df.loc[primary, "adjusted p"].to_numpy() == pytest.approx(holm(df.loc[primary, "p"].to_numpy()))
    assert list(df["verdict"].map(verdict_name)) == [SUPPORTED, EFFECT_NOT_REPORTED, NOT_RESOLVED, S.DESCRIPTIVE,
                                                    ONE_SEED, CONTRADICTED]
    secondary = df.iloc[3]
    assert not math.isnan(secondary["p"]) and math.isnan(secondary["adjusted p"])
    pending = df.iloc[4]
    assert pending["seeds"] == "1 / 3" and pending["ours Δ"] == 0
    assert all(math.isnan(pending[c]) for c in ("p", "adjusted p", "CI low", "CI high"))
    assert df.iloc[5]["seeds"] == "3" and df.iloc[5]["test"] == "one-sample t"
    assert "seeds per side" in df.iloc[2]["what would resolve it"] and df.iloc[0]["what would resolve it"] == ""
    none = verdict_table([S.Claim("none vs L_id", -0.09, a=[25.1, 29.9, 27.8], b=[31.0, 28.1, 32.4])] + claims[:2])
    assert none["verdict"].iloc[0] == NO_EFFECT and none["what would resolve it"].iloc[0].startswith("if our Δ is real")
    perm = verdict_table(claims[:3], test="permutation")
    assert perm["p"].iloc[0] == pytest.approx(0.1)  # 3 + 3 seeds: the permutation floor
    assert verdict_name(perm["verdict"].iloc[0]) == NOT_RESOLVED


@pytest.mark.parametrize("claims, match", [
    ([{"claim": "x", "paper_delta": 1.0, "a": [1, 2]}], "needs both arms"),
    ([{"claim": "x", "paper_delta": 1.0, "a": [1, 2], "b": [1, 2], "result": S.one_sample([1, 2])}], "both a result"),
    ([{"claim": "x", "paper Δ": 1.0, "a": [1, 2], "b": [1, 2]}], "unknown claim key"),
    ([{"claim": "x", "paper_delta": 1.0, "a": [1, float("nan")], "b": [1, 2]}], "claim 'x'.*NaN"),
])
def test_verdict_table_bad_claims(claims, match):
    with pytest.raises(StatsError, match=match):
        verdict_table(claims)


arm = st.lists(st.integers(150, 450).map(lambda x: x / 10), min_size=1, max_size=6)  # rank-1 values, 0.1 steps


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.floats(-10, 10), arm, arm), min_size=1, max_size=8))
def test_no_supported_or_contradicted_without_a_significant_adjusted_p(spec):
    claims = [S.Claim(f"c{i}", paper, a=a, b=b) for i, (paper, a, b) in enumerate(spec)]
    df = verdict_table(claims)
    for (paper, a, b), (_, row) in zip(spec, df.iterrows(), strict=True):
        name = verdict_name(row["verdict"])
        if name in (SUPPORTED, CONTRADICTED, EFFECT_NOT_REPORTED):
            assert row["adjusted p"] < 0.05
        if name in (SUPPORTED, CONTRADICTED):
            assert abs(paper) >= NO_EFFECT_THRESHOLD - 1e-9
            assert (row["ours Δ"] > 0) == (paper > 0) if name == SUPPORTED else (row["ours Δ"] > 0) != (paper > 0)
        if name in (NO_EFFECT, EFFECT_NOT_REPORTED):
            assert abs(paper) < NO_EFFECT_THRESHOLD
        if min(len(a), len(b)) < 2:
            assert name == ONE_SEED and math.isnan(row["p"]) and math.isnan(row["adjusted p"])
        if math.isnan(row["p"]):
            assert name.startswith("not resolved")


# --- θ sweeps ---------------------------------------------------------------------------------------------------

def test_a_flat_theta_curve_is_not_supported():
    flat = {th: [30.0, 31.0, 32.0] for th in THETAS}
    v = S.theta_verdict(flat, 0.6)
    assert v["verdict_name"] == CONSISTENT and THETA_FLAT in v["verdict"] and v["theta_matters"] is False
    assert v["anova"].f == pytest.approx(0) and v["comparisons"]["p"].to_numpy() == pytest.approx(1)
    rng = np.random.default_rng(0)
    noisy = {th: rng.normal(30, 2, 3) for th in THETAS}
    lead = max(v.mean() for th, v in noisy.items() if th != 0.6) + 1.3 - noisy[0.6].mean()
    noisy[0.6] = noisy[0.6] + lead  # the paper's θ has the highest mean, 1.3 points ahead (issue 12's case)
    v = S.theta_verdict(noisy, 0.6)
    assert v["best_theta"] == 0.6 and v["verdict_name"] == CONSISTENT


def test_another_theta_far_better_contradicts_the_paper():
    rng = np.random.default_rng(1)
    curve = {th: 30 + rng.normal(0, 1, 5) for th in THETAS}
    curve[1.4] = curve[1.4] + 12
    v = S.theta_verdict(curve, 0.6)
    assert v["verdict_name"] == CONTRADICTED and v["best_theta"] == 1.4 and v["theta_matters"] is True
    assert "θ = 1.4 beats it" in v["reading"] and "θ matters" in v["reading"]
    row = v["comparisons"].set_index("θ").loc[1.4]
    assert row["Δ"] < 0 and row["adjusted p"] < 0.05 and row["adjusted p"] >= row["p"]


def test_the_paper_theta_clearly_best_is_supported():
    rng = np.random.default_rng(2)
    curve = {th: 30 + rng.normal(0, 0.5, 5) for th in THETAS}
    curve[1.8] = curve[1.8] + 10
    v = S.theta_verdict(curve, 1.8)
    assert v["verdict"] == SUPPORTED and v["best_theta"] == 1.8
    assert (v["comparisons"]["adjusted p"] < 0.05).all() and len(v["comparisons"]) == 10


def test_theta_with_one_seed_at_the_paper_value_is_not_resolved():
    curve = {th: [30.0, 31.0, 29.5] for th in THETAS}
    curve[0.6] = [35.0]
    v = S.theta_verdict(curve, 0.6)
    assert v["verdict_name"] == ONE_SEED and v["comparisons"]["p"].isna().all()
    assert v["comparisons"]["adjusted p"].isna().all() and v["chosen_seeds"] == 1


def test_theta_raw_p_values_can_enter_a_larger_family():
    rng = np.random.default_rng(1)
    curve = {th: 30 + rng.normal(0, 1, 5) for th in THETAS}
    curve[1.4] = curve[1.4] + 3
    first = S.theta_verdict(curve, 0.6)
    assert set(first["p_values"]) == set(THETAS) - {0.6}
    report_family = [0.001, 0.2, *first["p_values"].values()]  # the report's other claims, then the sweep's
    adj = dict(zip(first["p_values"], holm(report_family)[2:], strict=True))
    second = S.theta_verdict(curve, 0.6, adjusted=adj)
    assert second["comparisons"]["adjusted p"].to_numpy() == pytest.approx(list(adj.values()))
    with pytest.raises(StatsError, match="adjusted has no p-value"):
        S.theta_verdict(curve, 0.6, adjusted={1.4: 0.5})


def test_theta_bad_input():
    with pytest.raises(StatsError, match="θ = 0.6 is not among"):
        S.theta_verdict({0.0: [1, 2], 0.2: [1, 2]}, 0.6)
    with pytest.raises(StatsError, match="no values at the paper's θ"):
        S.theta_verdict({0.0: [1, 2], 0.6: []}, 0.6)
    v = S.theta_verdict({0.0: [1, 2], 0.6: [2, 3], 0.8: []}, 0.6)  # a θ not run yet: shown, not tested
    assert v["comparisons"].set_index("θ").loc[0.8, "seeds"] == 0
    v = S.theta_verdict({0.0: [1.0, 1.0], 0.6: [2.0, 2.0]}, 0.6)  # no spread anywhere: no test, and it says why
    assert v["theta_matters"] is None and "no spread" in v["reading"] and v["verdict_name"] == CONSISTENT


def test_power_is_one_where_scipy_gives_nan_as_before_the_vectorised_curve():
    """A spread ~1e-17 of the difference (three equal values whose std is not exactly 0) makes scipy's noncentral t
    return NaN: the power is then 1 (min(1, NaN) of the scalar version), and 2 seeds resolve the claim."""
    from vireid_lib import stats

    assert stats.power_at(0.01, 1.7e-17, 1.36e-16, 3, 0.005) == 1.0
    assert stats.seeds_to_resolve(0.01, 1.7e-17, 1.36e-16, 0.005) == 2
    assert stats.seeds_to_resolve(-2.0, 1.0, None, 0.05) == stats.seeds_to_resolve(2.0, 1.0, None, 0.05)
