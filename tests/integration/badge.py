"""badge.py — the percent a stage badge shows for a confidence, as the kernel and
`nbstage tag` compute it (model/stage_output.c: lround of the 3-decimal confidence x 100,
halves away from zero).  Python's round() takes halves to even: for a confidence of
0.985 it says 98 where the badge rightly says 99."""
import math


def badge_percent(confidence):
    return math.floor(confidence * 100 + 0.5)
