"""recsys-eval: the offline evaluator, number-for-number with the original Go tool."""
