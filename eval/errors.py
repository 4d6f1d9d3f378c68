"""Errors specific to recsys-eval, all under the project's one root.

::

    RecsysError                 (schemas.errors)
    ├── ConfigError
    │   └── UnknownMetricError  a metric name not in the registry (lists the known ones)
    └── InputError
        └── UnsortedInputError  stream mode got input not sorted by request_id
"""

from __future__ import annotations

from schemas.errors import ConfigError, InputError


class UnknownMetricError(ConfigError):
    """A metric name that is not in the registry."""


class UnsortedInputError(InputError):
    """Stream mode needs exposures and outcomes sorted ascending by request_id.

    ``stream`` names the input ("exposures" or "outcomes") so the caller can add
    the file and line of the offending record.
    """

    def __init__(self, message: str, *, stream: str) -> None:
        super().__init__(message)
        self.stream = stream
