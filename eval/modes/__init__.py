"""Mode runners: wiring from configs and sources to a report (the registry ``MODE_RUNNERS``)."""

from __future__ import annotations

from eval.modes.context import Runner
from eval.modes.experiment import run_aa_check, run_experiment
from eval.modes.interleaving import run_interleaving
from eval.modes.offline import run_offline
from eval.modes.ope import run_ope

MODE_RUNNERS: dict[str, Runner] = {
    "offline": run_offline,
    "experiment": run_experiment,
    "ope": run_ope,
    "interleaving": run_interleaving,
    "aa-check": run_aa_check,
}
