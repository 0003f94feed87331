"""A/B statistics agree with textbook tables and worked examples, and the verdicts read right."""

from __future__ import annotations

import math

import pytest

from flask_funnel.analytics.significance import (
    Arm,
    _format_p,
    chi_square_sf,
    chi_square_test,
    compare,
    normal_quantile,
    normal_sf,
    round_up_2sig,
    sample_size_per_arm,
    two_proportion_z_test,
)

# --- distributions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "df", "p"),
    [
        # Critical values from the chi-square table.
        (3.841459, 1, 0.05),
        (5.991465, 2, 0.05),
        (7.814728, 3, 0.05),
        (6.634897, 1, 0.01),
        (9.210340, 2, 0.01),
        (18.307038, 10, 0.05),
        (124.342113, 100, 0.05),
    ],
)
def test_chi_square_sf_matches_the_table(x, df, p):
    assert chi_square_sf(x, df) == pytest.approx(p, abs=1e-6)


@pytest.mark.parametrize("df", [1, 2, 3, 10])
def test_chi_square_sf_is_one_at_zero(df):
    assert chi_square_sf(0.0, df) == 1.0


@pytest.mark.parametrize("x", [0.01, 0.5, 2.0, 7.0, 30.0, 200.0])
def test_chi_square_sf_matches_closed_forms(x):
    # Both branches (series for x/2 < df/2 + 1, continued fraction above) against exact formulas:
    # df = 1 is the square of a normal variable, df = 2 an exponential, df = 4 exp(-x/2)(1 + x/2).
    assert chi_square_sf(x, 1) == pytest.approx(math.erfc(math.sqrt(x / 2)), rel=1e-10, abs=1e-15)
    assert chi_square_sf(x, 2) == pytest.approx(math.exp(-x / 2), rel=1e-10, abs=1e-15)
    assert chi_square_sf(x, 4) == pytest.approx(math.exp(-x / 2) * (1 + x / 2), rel=1e-10)


def test_chi_square_sf_rejects_zero_degrees_of_freedom():
    with pytest.raises(ValueError):
        chi_square_sf(1.0, 0)


def test_normal_tail_and_quantile_match_the_table():
    assert normal_sf(1.959964) == pytest.approx(0.025, abs=1e-7)
    assert normal_sf(0.0) == 0.5
    assert normal_quantile(0.975) == pytest.approx(1.959964, abs=1e-6)
    assert normal_quantile(0.8) == pytest.approx(0.841621, abs=1e-6)
    assert normal_quantile(0.025) == pytest.approx(-1.959964, abs=1e-6)
    assert normal_quantile(0.001) == pytest.approx(-3.090232, abs=1e-6)
    assert normal_quantile(0.5) == 0.0


@pytest.mark.parametrize("p", [1e-10, 1e-4, 0.01, 0.02425, 0.3, 0.5, 0.9, 0.99, 1 - 1e-7])
def test_normal_quantile_inverts_the_cdf(p):
    # All three regions of Acklam's approximation, after the Halley step.
    assert 1.0 - normal_sf(normal_quantile(p)) == pytest.approx(p, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("p", [0.0, 1.0, -0.1, 1.5])
def test_normal_quantile_rejects_probabilities_outside_the_open_interval(p):
    with pytest.raises(ValueError):
        normal_quantile(p)


# --- tests of two and more proportions -----------------------------------------------------------


def test_two_proportion_z_test_worked_example():
    # 200/1000 = 0.20 vs 250/1000 = 0.25. Pooled p = 450/2000 = 0.225,
    # SE = sqrt(0.225 * 0.775 * (1/1000 + 1/1000)) = sqrt(0.00034875) = 0.0186748,
    # z = (0.25 - 0.20) / 0.0186748 = 2.67740, two-sided p = 2 * (1 - Phi(2.6774)) = 0.00742.
    z, p = two_proportion_z_test(Arm("a", 1000, 200), Arm("b", 1000, 250))
    assert z == pytest.approx(2.67740, abs=1e-4)
    assert p == pytest.approx(0.00742, abs=1e-4)
    z_reversed, p_reversed = two_proportion_z_test(Arm("b", 1000, 250), Arm("a", 1000, 200))
    assert z_reversed == pytest.approx(-z)
    assert p_reversed == pytest.approx(p)


def test_two_arm_chi_square_is_the_square_of_z():
    a, b = Arm("a", 1000, 200), Arm("b", 1400, 330)
    z, p = two_proportion_z_test(a, b)
    chi2, df, chi_p = chi_square_test([a, b])
    assert df == 1
    assert chi2 == pytest.approx(z * z, rel=1e-12)
    assert chi_p == pytest.approx(p, rel=1e-9)


def test_chi_square_three_by_two_example():
    # Visitors 200, 300, 500 (1000); conversions 20, 45, 85 (150), pooled rate 0.15.
    # Expected conversions 30, 45, 75; expected non-conversions 170, 255, 425.
    # Observed non-conversions 180, 255, 415.
    # chi2 = 10²/30 + 0 + 10²/75 + 10²/170 + 0 + 10²/425 = 10/3 + 4/3 + 10/17 + 4/17 = 280/51
    #      = 5.490196; with df = 2 the tail is exactly exp(-chi2 / 2) = exp(-140/51) = 0.064242.
    chi2, df, p = chi_square_test([Arm("a", 200, 20), Arm("b", 300, 45), Arm("c", 500, 85)])
    assert chi2 == pytest.approx(280 / 51, rel=1e-12)
    assert df == 2
    assert p == pytest.approx(math.exp(-140 / 51), rel=1e-10)
    assert p == pytest.approx(0.064242, abs=1e-6)


@pytest.mark.parametrize(
    "arms",
    [
        [Arm("a", 0, 0), Arm("b", 100, 10)],  # no visitors, no rate
        [Arm("a", 100, 0), Arm("b", 100, 0)],  # nobody converted
        [Arm("a", 100, 100), Arm("b", 100, 100)],  # everybody converted
    ],
)
def test_tests_refuse_undefined_statistics(arms):
    with pytest.raises(ValueError):
        two_proportion_z_test(*arms)
    with pytest.raises(ValueError):
        chi_square_test(arms)


def test_sample_size_per_arm():
    # 10% vs 12%, alpha 0.05 two-sided (z = 1.959964), power 0.8 (z = 0.841621), pbar = 0.11:
    # 1.959964 * sqrt(2 * 0.11 * 0.89) = 1.959964 * 0.442493 = 0.867270
    # 0.841621 * sqrt(0.09 + 0.1056)   = 0.841621 * 0.442267 = 0.372222
    # (0.867270 + 0.372222)² / 0.02² = 1.536340 / 0.0004 = 3840.85 -> 3841
    assert sample_size_per_arm(0.10, 0.12) == 3841
    assert sample_size_per_arm(0.12, 0.10) == 3841
    # 20% vs 25%: (1.959964 * sqrt(0.34875) + 0.841621 * sqrt(0.3475))² / 0.05² = 1093.7 -> 1094
    assert sample_size_per_arm(0.20, 0.25) == 1094
    assert sample_size_per_arm(0.10, 0.10) is None
    # Stricter alpha and higher power both need more visitors.
    assert sample_size_per_arm(0.10, 0.12, alpha=0.01) > 3841
    assert sample_size_per_arm(0.10, 0.12, power=0.9) > 3841


# --- compare() ----------------------------------------------------------------------------------


def test_arm_rate_and_validation():
    assert Arm("a", 200, 50).rate == 0.25
    assert Arm("a", 0, 0).rate is None
    with pytest.raises(ValueError):
        Arm("a", 10, 11)
    with pytest.raises(ValueError):
        Arm("a", 10, -1)


def test_compare_needs_two_arms():
    with pytest.raises(ValueError):
        compare([Arm("a", 100, 10)])


@pytest.mark.parametrize("order", [1, -1])
def test_compare_finds_the_better_arm(order):
    result = compare([Arm("a", 1000, 200), Arm("b", 1000, 250)][::order])
    assert result.test == "two-proportion z-test"
    assert result.verdict == "better"
    assert result.message == "b converts better (p = 0.007)"
    assert (result.best, result.baseline) == ("b", "a")
    assert result.statistic == pytest.approx(2.67740, abs=1e-4)  # best minus baseline: positive
    assert result.degrees_of_freedom is None
    assert result.p_value == pytest.approx(0.00742, abs=1e-4)
    assert result.difference == pytest.approx(0.05)
    # Unpooled SE = sqrt(0.2 * 0.8 / 1000 + 0.25 * 0.75 / 1000) = sqrt(0.0003475) = 0.0186414;
    # 0.05 ± 1.959964 * 0.0186414 = 0.05 ± 0.036536.
    assert result.ci_low == pytest.approx(0.013464, abs=1e-6)
    assert result.ci_high == pytest.approx(0.086536, abs=1e-6)
    assert (result.needed_per_arm, result.more_per_arm) == (1094, 94)


def test_compare_reports_very_small_p_values_as_a_bound():
    result = compare([Arm("a", 1000, 100), Arm("b", 1000, 200)])
    assert result.message == "b converts better (p < 0.001)"


def test_compare_wider_interval_for_smaller_alpha():
    arms = [Arm("a", 1000, 200), Arm("b", 1000, 250)]
    default, strict = compare(arms), compare(arms, alpha=0.001)
    assert strict.ci_low < default.ci_low and strict.ci_high > default.ci_high
    assert strict.verdict == "not_enough_data"  # p = 0.0074 is not below 0.001


def test_compare_equal_large_samples_show_no_difference():
    result = compare([Arm("a", 10_000, 1000), Arm("b", 10_000, 1000)])
    assert result.verdict == "no_difference"
    assert result.message == "No difference yet (p = 1)"
    assert result.statistic == 0.0
    assert result.p_value == pytest.approx(1.0)
    assert (result.best, result.baseline) == ("a", "b")  # a tie goes to the first arm
    assert result.difference == 0.0
    assert (result.needed_per_arm, result.more_per_arm) == (None, None)


def test_compare_asks_for_more_visitors():
    # 10% vs 13% on 200 visitors each: z = 0.03 / sqrt(0.115 * 0.885 * 2/200) = 0.940, p = 0.347.
    # Needed: (1.959964 * sqrt(2 * 0.115 * 0.885) + 0.841621 * sqrt(0.09 + 0.1131))² / 0.03²
    #       = (0.884267 + 0.379290)² / 0.0009 = 1773.97 -> 1774, so 1574 more, about 1,600.
    result = compare([Arm("a", 200, 20), Arm("b", 200, 26)])
    assert result.verdict == "not_enough_data"
    assert result.p_value == pytest.approx(0.347, abs=1e-3)
    assert (result.needed_per_arm, result.more_per_arm) == (1774, 1574)
    assert result.message == "Not enough data yet (need about 1,600 more visitors per variant)"


def test_compare_too_few_conversions():
    result = compare([Arm("a", 50, 1), Arm("b", 50, 3)])  # 4 conversions < 5 per arm
    assert result.verdict == "not_enough_data"
    assert result.p_value is not None  # defined, just not trusted
    # Needed for 2% vs 6% is 376 per arm; 326 more rounds up to 330.
    assert (result.needed_per_arm, result.more_per_arm) == (376, 326)
    assert result.message == "Not enough data yet (need about 330 more visitors per variant)"


def test_compare_nobody_converted():
    result = compare([Arm("a", 100, 0), Arm("b", 100, 0)], min_conversions=0)
    assert result.verdict == "not_enough_data"
    assert result.message == "Not enough data yet"
    assert (result.statistic, result.p_value, result.needed_per_arm) == (None, None, None)


def test_compare_arm_without_visitors():
    result = compare([Arm("a", 0, 0), Arm("b", 1000, 250)])
    assert result.verdict == "not_enough_data"
    assert result.message == "Not enough data yet"
    assert (result.statistic, result.p_value, result.best, result.difference) == (None,) * 4


def test_compare_three_arms_uses_chi_square():
    # Expected counts in test_chi_square_three_by_two_example: chi2 = 280/51, p = 0.064.
    # Best c (17%) against the worst a (10%); needed for 10% vs 17% is 373 per arm, a has 200.
    result = compare([Arm("a", 200, 20), Arm("b", 300, 45), Arm("c", 500, 85)])
    assert result.test == "chi-square test"
    assert result.statistic == pytest.approx(280 / 51)
    assert result.degrees_of_freedom == 2
    assert (result.best, result.baseline) == ("c", "a")
    assert result.difference == pytest.approx(0.07)
    assert (result.needed_per_arm, result.more_per_arm) == (373, 173)
    assert result.verdict == "not_enough_data"
    assert result.message == "Not enough data yet (need about 180 more visitors per variant)"


def test_compare_three_arms_with_a_winner():
    # Pooled 340/3000; each arm expects 113.33 conversions, so with n p (1 - p) = 100.489
    # chi2 = (13.33² + 26.67² + 13.33²) / 100.489 = 1066.67 / 100.489 = 10.615, p = exp(-5.307).
    result = compare([Arm("a", 1000, 100), Arm("b", 1000, 140), Arm("c", 1000, 100)])
    assert result.statistic == pytest.approx(10.615, abs=1e-3)
    assert result.p_value == pytest.approx(0.004955, abs=1e-6)
    assert (result.best, result.baseline) == ("b", "a")
    assert result.verdict == "better"
    assert result.message == "b converts best (p = 0.005)"


@pytest.mark.parametrize(
    ("p", "text"),
    [(0.0004, "p < 0.001"), (0.001, "p = 0.001"), (0.010, "p = 0.01"), (0.0321, "p = 0.032"),
     (0.43, "p = 0.43"), (1.0, "p = 1")],
)  # fmt: skip
def test_p_value_wording(p, text):
    assert _format_p(p) == text


@pytest.mark.parametrize(
    ("n", "rounded"), [(1, 1), (87, 87), (100, 100), (101, 110), (1234, 1300), (9999, 10000)]
)
def test_visitor_counts_round_up_to_two_significant_figures(n, rounded):
    assert round_up_2sig(n) == rounded
