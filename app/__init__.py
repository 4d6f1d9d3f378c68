"""Wiring: settings, the recsys CLI, the Faust app, the embedded broker."""
