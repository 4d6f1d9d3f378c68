"""recsys-eval: the offline evaluator, number-for-number with the original Go tool.

Layout: pure cores (``join``, ``metrics``, ``stats``, ``offline``, ``experiment``,
``ope``, ``interleaving``) take typed records and return frozen dataclasses;
``jsonl``/``parquet``/``sources`` read files, ``report`` renders, ``runner`` wires
a mode together and ``cli`` is the thin ``recsys-eval`` entry point.
"""

REPORT_VERSION = "0.1.0"
