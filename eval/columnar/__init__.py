"""Columnar twins of the memory-mode offline path: the same numbers, without per-record objects.

The reference path (``eval.records`` → ``eval.join`` → ``eval.offline``) builds one
object per record; these modules read the same inputs into numpy columns, join and
score them with array operations, and fall back to the reference decoders for any
line that is not in the common, regular shape, so errors still name file and line.
"""
