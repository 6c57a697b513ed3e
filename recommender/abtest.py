"""Statistics of A/B tests on click-through: intervals, a sequential test, sample sizes and a
verdict in plain words. Pure functions of counts (no service, no I/O).

The test is the **mixture sequential probability ratio test** (mSPRT, Johari, Koomen, Pekelis
and Walsh, "Peeking at A/B tests", KDD 2017) for the difference of two click-through rates,
with the normal approximation of the difference: after each day, with ``d`` the observed
difference of CTRs and ``V`` its variance,

    Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 d^2 / (2 V (V + tau^2)))

and the *always-valid* p-value is the smallest ``1 / Lambda`` seen so far. Why this one: an
editor reads the report every day and stops when it says so; a plain two-proportion z-test
read daily declares a winner between two identical variants far more often than its 5 % (each
look is another chance), while the always-valid p-value keeps the chance of ever declaring a
false winner at most ``alpha``, however often it is read. The price is that it needs more
readers than a fixed-horizon test planned in advance (``sample_size`` gives the fixed-horizon
figure; count on up to about twice that). ``tau`` (the spread of the effects one expects) is
set to a tenth of the control's CTR: effects of 5 to 30 % are what changed settings give.

With more than two variants each is compared with the control at ``alpha / (k - 1)``
(Bonferroni), so the chance of any false winner stays at most ``alpha``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: The error rate the verdicts are held to: the chance of ever naming a winner between
#: variants that do not differ.
ALPHA = 0.05
#: Power of the sample-size guidance.
POWER = 0.8
#: The relative effect the sample-size guidance plans for when the observed one is smaller.
MIN_EFFECT = 0.10


def normal_cdf(x: float) -> float:
    """The standard normal distribution function."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def normal_quantile(p: float) -> float:
    """The standard normal quantile (Acklam's rational approximation, refined once)."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must be between 0 and 1")
    a = (
        -39.69683028665376,
        220.9460984245205,
        -275.9285104469687,
        138.357751867269,
        -30.66479806614716,
        2.506628277459239,
    )
    b = (
        -54.47609879822406,
        161.5858368580409,
        -155.6989798598866,
        66.80131188771972,
        -13.28068155288572,
    )
    c = (
        -0.007784894002430293,
        -0.3223964580411365,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    )
    d = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
    low = 0.02425
    if p < low:
        q = math.sqrt(-2 * math.log(p))
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
        )
    elif p <= 1 - low:
        q = p - 0.5
        r = q * q
        x = (
            (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
            * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        )
    else:
        x = -normal_quantile(1 - p)
        return x
    error = normal_cdf(x) - p
    return x - error * math.sqrt(2 * math.pi) * math.exp(x * x / 2)


def wilson_interval(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a proportion ((0, 1) without trials)."""
    if trials <= 0:
        return 0.0, 1.0
    z = normal_quantile(0.5 + level / 2)
    p = min(successes / trials, 1.0)  # clicks without a counted impression can exceed them
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = (
        z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    )
    return max(0.0, centre - half), min(1.0, centre + half)


def _variance(clicks: int, shown: int) -> float:
    p = (clicks + 0.5) / (shown + 1.0)  # never 0: a day without clicks still has a spread
    return p * (1 - p) / shown


def msprt_p_value(
    daily_control: Sequence[tuple[int, int]],
    daily_variant: Sequence[tuple[int, int]],
    tau: float | None = None,
) -> float:
    """The always-valid p-value after the last day: ``(clicks, impressions)`` per day, both
    arms over the same days, looked at after each day (see the module docstring)."""
    p_value = 1.0
    ca = na = cb = nb = 0
    for (c1, n1), (c2, n2) in zip(daily_control, daily_variant, strict=True):
        ca, na, cb, nb = ca + c1, na + n1, cb + c2, nb + n2
        if na == 0 or nb == 0:
            continue
        spread = tau if tau is not None else 0.1 * max(ca / na, 1e-4)
        t2 = spread * spread
        v = _variance(ca, na) + _variance(cb, nb)
        diff = cb / nb - ca / na
        log_lambda = 0.5 * math.log(v / (v + t2)) + t2 * diff * diff / (2 * v * (v + t2))
        p_value = min(p_value, math.exp(-log_lambda) if log_lambda < 700 else 0.0)
    return min(p_value, 1.0)


def probability_better(control: tuple[int, int], variant: tuple[int, int]) -> float:
    """Posterior probability that the variant's CTR is above the control's (uniform priors,
    normal approximation of the two Beta posteriors)."""
    (ca, na), (cb, nb) = control, variant
    pa, pb = (ca + 1) / (na + 2), (cb + 1) / (nb + 2)
    v = pa * (1 - pa) / (na + 3) + pb * (1 - pb) / (nb + 3)
    return normal_cdf((pb - pa) / math.sqrt(v))


def sample_size(base_rate: float, relative_effect: float, alpha: float = ALPHA) -> int:
    """Impressions per arm a fixed-horizon two-sided test needs to find a relative change of
    ``relative_effect`` on ``base_rate`` with power :data:`POWER`."""
    p1 = min(max(base_rate, 1e-4), 0.99)
    p2 = min(p1 * (1 + relative_effect), 0.999)
    if p2 == p1:
        return 0
    za, zb = normal_quantile(1 - alpha / 2), normal_quantile(POWER)
    spread = p1 * (1 - p1) + p2 * (1 - p2)
    return math.ceil((za + zb) ** 2 * spread / (p2 - p1) ** 2)


@dataclass(frozen=True)
class Comparison:
    """One variant against the control."""

    variant: str
    ctr: float
    control_ctr: float
    lift: float | None
    probability_better: float
    p_value: float
    alpha: float
    significant: bool
    impressions_needed: int
    days_needed: float | None

    @property
    def better(self) -> bool:
        """The variant's CTR is above the control's."""
        return self.ctr > self.control_ctr


def compare(
    name: str,
    daily_control: Sequence[tuple[int, int]],
    daily_variant: Sequence[tuple[int, int]],
    *,
    alpha: float = ALPHA,
) -> Comparison:
    """A variant against the control from their ``(clicks, impressions)`` per day."""
    ca = sum(c for c, _ in daily_control)
    na = sum(n for _, n in daily_control)
    cb = sum(c for c, _ in daily_variant)
    nb = sum(n for _, n in daily_variant)
    pa = ca / na if na else 0.0
    pb = cb / nb if nb else 0.0
    p_value = msprt_p_value(daily_control, daily_variant) if na and nb else 1.0
    lift = (pb - pa) / pa if pa > 0 else None
    effect = max(abs(lift), MIN_EFFECT) if lift is not None else MIN_EFFECT
    # twice the fixed-horizon figure: what the sequential test needs, roughly
    needed = 2 * sample_size(pa if na else 0.05, effect, alpha)
    days = len(daily_control) or 1
    per_day = min(na, nb) / days
    remaining = max(needed - min(na, nb), 0)
    return Comparison(
        variant=name,
        ctr=pb,
        control_ctr=pa,
        lift=lift,
        probability_better=probability_better((ca, na), (cb, nb)),
        p_value=p_value,
        alpha=alpha,
        significant=p_value < alpha,
        impressions_needed=needed,
        days_needed=(remaining / per_day) if per_day > 0 else None,
    )


def verdict(control: str, comparisons: Sequence[Comparison]) -> tuple[str | None, str]:
    """The winner (a variant, the control, or None) and the verdict in plain words."""
    if not comparisons:
        return None, "No variant to compare yet."
    winners = [c for c in comparisons if c.significant and c.better]
    if winners:
        best = max(winners, key=lambda c: c.ctr)
        return best.variant, (
            f"{best.variant} wins: CTR {best.ctr:.2%} against {best.control_ctr:.2%} for "
            f"{control} ({_lift(best)}), {best.probability_better:.0%} sure it is better; the "
            f"sequential test is decided (always-valid p = {best.p_value:.3g} < {best.alpha:.3g})."
        )
    losers = [c for c in comparisons if c.significant]
    if len(losers) == len(comparisons):
        return control, (
            f"{control} wins: every variant has a lower CTR "
            f"({', '.join(f'{c.variant} {c.ctr:.2%}' for c in losers)} against "
            f"{losers[0].control_ctr:.2%}); the sequential test is decided."
        )
    lead = max(comparisons, key=lambda c: abs(c.probability_better - 0.5))
    ahead, sure = (
        (lead.variant, lead.probability_better)
        if lead.better
        else (control, 1 - lead.probability_better)
    )
    days = (
        f"needs about {math.ceil(lead.days_needed)} more days at this traffic"
        if lead.days_needed is not None
        else "needs traffic"
    )
    return None, (
        f"No winner yet. {ahead} is ahead ({_lift(lead)} for {lead.variant}), "
        f"{sure:.0%} sure; {days} (about {lead.impressions_needed:,} list impressions per "
        f"variant) before the sequential test can decide."
    )


def _lift(c: Comparison) -> str:
    return "lift unknown" if c.lift is None else f"{c.lift:+.1%} CTR"
