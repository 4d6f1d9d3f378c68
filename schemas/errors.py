"""The one exception root of RecSys Stream.

Every error the project raises on purpose derives from ``RecsysError``::

    RecsysError
    ├── ContractError        an event or document breaks a schema (validation, decoding)
    │   └── DecodeError      bytes that are not a framed Avro record of a known schema
    ├── RegistryError        the schema registry is unreachable or answers nonsense
    ├── DeliveryError        Kafka did not acknowledge records we produced
    ├── ConfigError          settings, YAML configs or CLI arguments are wrong
    ├── InputError           an input file is unreadable or malformed (names file and line)
    ├── BrokerError          the embedded broker cannot start or does not answer
    └── ServingError         a request cannot be served (mapped to problem+json)

Subclasses defined beside their use name themselves in their module's docstring (e.g.
``app.lifecycle.WorkerCrashedError``: the stream worker of a process crashed).

It lives in ``schemas`` because that package imports nothing of ours, so every
other package may import it.
"""

from __future__ import annotations


class RecsysError(Exception):
    """Root of every error raised on purpose by RecSys Stream."""


class ContractError(RecsysError):
    """An event or document does not satisfy its schema."""


class DecodeError(ContractError):
    """Bytes that are not a Confluent-framed Avro record of a known schema."""


class RegistryError(RecsysError):
    """The schema registry failed or answered something we cannot use."""


class DeliveryError(RecsysError):
    """Kafka did not acknowledge one or more produced records."""


class ConfigError(RecsysError):
    """Settings, configuration files or command-line arguments are wrong."""


class InputError(RecsysError):
    """An input file cannot be read or parsed; the message names file and line."""


class BrokerError(RecsysError):
    """The embedded broker could not be started or does not answer."""


class ServingError(RecsysError):
    """A request cannot be served; carries an HTTP status and a stable code."""

    def __init__(self, message: str, *, status: int = 500, code: str = "internal") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
