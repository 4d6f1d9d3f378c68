"""Pure statistics shared with the live side: the single definition of each formula.

No file I/O, no clocks, no global randomness: values in, values out. Randomness
comes in as an ``np.random.Generator``.
"""
