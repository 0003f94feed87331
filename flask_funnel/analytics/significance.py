"""Is one A/B variant really converting better, or is it noise? Standard library only.

Two variants are compared with a pooled two-proportion z-test, more with a chi-square test on the
k x 2 table of conversions and non-conversions. Only conversions are ever compared: the caller
passes the conversions to the chosen stage, so a winner is never declared on anything else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

_EPS = 1e-15  # the incomplete gamma series / continued fraction stop below this relative step
_TINY = 1e-300  # keeps Lentz's continued fraction away from division by zero
_MAX_ITERATIONS = 10_000


@dataclass(frozen=True)
class Arm:
    """One variant: how many visitors saw it and how many of them converted."""

    name: str
    visitors: int
    conversions: int

    def __post_init__(self) -> None:
        if not 0 <= self.conversions <= self.visitors:
            raise ValueError(f"arm {self.name!r}: need 0 <= conversions <= visitors")

    @property
    def rate(self) -> float | None:
        """Conversion rate as a fraction; ``None`` before the first visitor."""
        return self.conversions / self.visitors if self.visitors else None


@dataclass(frozen=True)
class Comparison:
    """The outcome of :func:`compare`, with a verdict and a message fit for a dashboard."""

    test: str
    statistic: float | None
    degrees_of_freedom: int | None
    p_value: float | None
    best: str | None
    baseline: str | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    needed_per_arm: int | None
    more_per_arm: int | None
    verdict: str
    message: str


def normal_sf(z: float) -> float:
    """``1 - Phi(z)``; ``erfc`` keeps the far tail accurate where ``1 - cdf`` would round to 0."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


_A = (-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690,
      -30.66479806614716, 2.506628277459239)  # fmt: skip
_B = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
      -13.28068155288572)  # fmt: skip
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838, -2.549732539343734,
      4.374664141464968, 2.938163982698783)  # fmt: skip
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996, 3.754408661907416)


def _poly(coefficients: Sequence[float], x: float) -> float:
    """Horner's rule, highest power first."""
    result = 0.0
    for c in coefficients:
        result = result * x + c
    return result


def normal_quantile(p: float) -> float:
    """Inverse standard normal CDF: Acklam's rational approximation plus one Halley step."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must be strictly between 0 and 1")
    if p < 0.02425 or p > 1 - 0.02425:
        q = math.sqrt(-2.0 * math.log(min(p, 1.0 - p)))
        x = _poly(_C, q) / (_poly(_D, q) * q + 1.0)
        x = x if p < 0.5 else -x
    else:
        r = (p - 0.5) ** 2
        x = _poly(_A, r) * (p - 0.5) / (_poly(_B, r) * r + 1.0)
    # Halley's step brings Acklam's ~1e-9 relative error down to about machine precision.
    e = 0.5 * math.erfc(-x / math.sqrt(2.0)) - p
    u = e * math.sqrt(2.0 * math.pi) * math.exp(x * x / 2.0)
    return x - u / (1.0 + x * u / 2.0)


def _gamma_q(a: float, x: float) -> float:
    """Regularized upper incomplete gamma ``Q(a, x)``, as ``gammq`` in Numerical Recipes."""
    front = math.exp(-x + a * math.log(x) - math.lgamma(a))
    if x < a + 1.0:  # the series for P converges fast here
        term = total = 1.0 / a
        for n in range(1, _MAX_ITERATIONS):
            term *= x / (a + n)
            total += term
            if abs(term) < abs(total) * _EPS:
                return 1.0 - total * front
    else:  # the continued fraction for Q converges fast here (modified Lentz)
        b = x + 1.0 - a
        c, d = 1.0 / _TINY, 1.0 / b
        h = d
        for i in range(1, _MAX_ITERATIONS):
            an = -i * (i - a)
            b += 2.0
            d = an * d + b
            d = d if abs(d) > _TINY else _TINY
            c = b + an / c
            c = c if abs(c) > _TINY else _TINY
            d = 1.0 / d
            h *= d * c
            if abs(d * c - 1.0) < _EPS:
                return front * h
    raise ArithmeticError(f"incomplete gamma did not converge for a={a}, x={x}")


def chi_square_sf(x: float, df: int) -> float:
    """P(X >= x) for a chi-square variable with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError("df must be at least 1")
    return 1.0 if x <= 0 else _gamma_q(df / 2.0, x / 2.0)


def _rates(arms: Sequence[Arm]) -> list[float]:
    """Rates of arms that all have visitors (the tests are undefined otherwise)."""
    if any(arm.visitors == 0 for arm in arms):
        raise ValueError("every arm needs at least one visitor")
    return [arm.conversions / arm.visitors for arm in arms]


def two_proportion_z_test(a: Arm, b: Arm) -> tuple[float, float]:
    """``(z, two-sided p)`` with the pooled standard error; z > 0 when b converts better."""
    rate_a, rate_b = _rates((a, b))
    pooled = (a.conversions + b.conversions) / (a.visitors + b.visitors)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / a.visitors + 1.0 / b.visitors))
    if se == 0.0:
        raise ValueError("undefined when nobody or everybody converted")
    return (rate_b - rate_a) / se, 2.0 * normal_sf(abs(rate_b - rate_a) / se)


def chi_square_test(arms: Sequence[Arm]) -> tuple[float, int, float]:
    """``(chi2, df, p)`` of independence on the k x 2 table, without continuity correction."""
    _rates(arms)
    pooled = sum(arm.conversions for arm in arms) / sum(arm.visitors for arm in arms)
    if len(arms) < 2 or pooled in (0.0, 1.0):
        raise ValueError("needs two arms and a pooled rate strictly between 0 and 1")
    chi2 = 0.0
    for arm in arms:
        failures = arm.visitors - arm.conversions
        for observed, share in ((arm.conversions, pooled), (failures, 1.0 - pooled)):
            expected = arm.visitors * share
            chi2 += (observed - expected) ** 2 / expected
    df = len(arms) - 1
    return chi2, df, chi_square_sf(chi2, df)


def sample_size_per_arm(
    p1: float, p2: float, *, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Visitors per arm for a two-sided test at ``alpha`` to detect p1 vs p2 with ``power``."""
    if p1 == p2:
        return None
    pbar = (p1 + p2) / 2.0
    root = normal_quantile(1.0 - alpha / 2.0) * math.sqrt(2.0 * pbar * (1.0 - pbar))
    root += normal_quantile(power) * math.sqrt(p1 * (1.0 - p1) + p2 * (1.0 - p2))
    # Shave float noise so that an exact integer result is not pushed up by one.
    return math.ceil(root**2 / (p1 - p2) ** 2 - 1e-9)


def _format_p(p: float) -> str:
    """``"p < 0.001"``, else p to three decimals without trailing zeros (``"p = 0.01"``)."""
    return "p < 0.001" if p < 0.001 else f"p = {f'{p:.3f}'.rstrip('0').rstrip('.')}"


def round_up_2sig(n: int) -> int:
    """1234 -> 1300, 87 -> 87: a rough figure that never promises less than is needed."""
    step = 10 ** max(0, len(str(n)) - 2)
    return -(-n // step) * step


def _need_message(more: int | None) -> str:
    """Say how many more visitors each variant needs, when that is known."""
    need = f" (need about {round_up_2sig(more):,} more visitors per variant)" if more else ""
    return f"Not enough data yet{need}"


def compare(arms: Sequence[Arm], *, alpha: float = 0.05, min_conversions: int = 5) -> Comparison:
    """Compare conversion rates; ``verdict`` is "better", "no_difference" or "not_enough_data"."""
    if len(arms) < 2:
        raise ValueError("compare needs at least two arms")
    two = len(arms) == 2
    test = "two-proportion z-test" if two else "chi-square test"
    df = None if two else len(arms) - 1
    if any(arm.visitors == 0 for arm in arms):  # no rate, so no best arm, difference or test
        return Comparison(test, None, df, None, *[None] * 7, "not_enough_data", _need_message(None))

    rates = _rates(arms)
    best_i = max(range(len(arms)), key=rates.__getitem__)  # ties: the first in given order
    base_i = min((i for i in range(len(arms)) if i != best_i), key=rates.__getitem__)
    best, base, r1, r2 = arms[best_i], arms[base_i], rates[base_i], rates[best_i]
    difference = r2 - r1
    half_width = normal_quantile(1.0 - alpha / 2.0) * math.sqrt(
        r1 * (1.0 - r1) / base.visitors + r2 * (1.0 - r2) / best.visitors
    )
    needed = sample_size_per_arm(r1, r2, alpha=alpha)
    fewest = min(arm.visitors for arm in arms)
    more = None if needed is None else max(0, needed - fewest)

    statistic: float | None = None
    p_value: float | None = None
    conversions = sum(arm.conversions for arm in arms)
    if 0 < conversions < sum(arm.visitors for arm in arms):  # else the statistic is undefined
        if two:
            statistic, p_value = two_proportion_z_test(base, best)
        else:
            statistic, _, p_value = chi_square_test(arms)

    if conversions < min_conversions * len(arms) or conversions == 0:
        verdict, message = "not_enough_data", _need_message(more)
    elif p_value is not None and p_value < alpha:
        verb = "converts better" if two else "converts best"
        verdict, message = "better", f"{best.name} {verb} ({_format_p(p_value)})"
    elif needed is None or fewest >= needed:
        suffix = f" ({_format_p(p_value)})" if p_value is not None else ""
        verdict, message = "no_difference", f"No difference yet{suffix}"
    else:
        verdict, message = "not_enough_data", _need_message(more)
    low, high = difference - half_width, difference + half_width
    return Comparison(
        test, statistic, df, p_value, best.name, base.name, difference, low, high, needed, more,
        verdict, message,
    )  # fmt: skip
