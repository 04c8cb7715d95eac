"""String similarity as DuckDB computes it, for the engines that compute it otherwise.

Spark's jaro_winkler_similarity (and Splink's Spark UDF) find the matching characters differently from
DuckDB's (the textbook algorithm): 'tranminh son' / 'tran minh son' is 0.9513 in DuckDB and 0.9429 in Spark,
which moves a name across the models' 0.95 threshold. The Spark engine registers this function instead
(vaxclean.transform.spark.register_functions), so both engines agree to the last bit.
"""

from __future__ import annotations

from fractions import Fraction


def _fused_multiply_add(x: float, y: float, z: float) -> float:
    """x * y + z rounded once, as DuckDB's build computes the Winkler step (math.fma is Python 3.13+)."""
    return float(Fraction(x) * Fraction(y) + Fraction(z))


def jaro_winkler_similarity(a: str | None, b: str | None) -> float | None:
    """Jaro-Winkler similarity: matches within max(len) // 2 - 1 positions, half the out-of-order matches
    as transpositions; a common prefix of up to 4 characters adds 0.1 of the remaining distance each when
    the Jaro similarity exceeds 0.7, in DuckDB's operation order (the three ratios summed left to right, then
    divided by 3; the Winkler step one fused multiply-add). Null when either is null; 0 when either is empty."""
    if a is None or b is None:
        return None
    la, lb = len(a), len(b)
    if not la or not lb:
        return 0.0
    window = max(max(la, lb) // 2 - 1, 0)
    matched_b = [False] * lb
    matches_a = []
    for i, char in enumerate(a):
        for j in range(max(0, i - window), min(lb, i + window + 1)):
            if not matched_b[j] and b[j] == char:
                matched_b[j] = True
                matches_a.append(char)
                break
    m = len(matches_a)
    if not m:
        return 0.0
    matches_b = [b[j] for j in range(lb) if matched_b[j]]
    transpositions = sum(x != y for x, y in zip(matches_a, matches_b, strict=True)) // 2
    jaro = (m / la + m / lb + (m - transpositions) / m) / 3
    if jaro <= 0.7:
        return jaro
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return _fused_multiply_add(prefix * 0.1, 1 - jaro, jaro)
