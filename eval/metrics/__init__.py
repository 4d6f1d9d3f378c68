"""Offline ranking metrics (spec §3.4): per-case functions and dataset-level tallies."""
