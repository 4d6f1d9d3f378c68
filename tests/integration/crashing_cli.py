"""``python -m tests.integration.crashing_cli ARGS``: the ``recsys`` CLI whose Faust worker
crashes ``CRASH_AFTER_S`` after it started (a Faust task that raises), the way any
agent error takes a Faust app down."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import app.runtime as runtime
from app.cli import main

CRASH_AFTER_S = 3.0
_register = runtime.register_live_agents


def _register_with_a_crash(fapp: Any, *args: Any, **kwargs: Any) -> Any:
    out = _register(fapp, *args, **kwargs)

    @fapp.task  # type: ignore[misc]
    async def crash() -> None:
        await asyncio.sleep(CRASH_AFTER_S)
        raise RuntimeError("injected crash")

    return out


runtime.register_live_agents = _register_with_a_crash  # type: ignore[assignment]

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
