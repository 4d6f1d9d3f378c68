"""Schema registries: which numeric id stands for which Avro schema on the wire.

Two implementations of one protocol, ``SchemaRegistry``:

- ``LocalRegistry`` — built from ``schemas/avro/*.avsc``; the ids are a fixed table
  (``LOCAL_IDS``: exposure=1, outcome=2, assignment=3, ranklist=4, item=5, joined=6), never derived
  from file order or hashes, so every process on every machine writes identical bytes.
  Changing a number there is a wire-format break.
- ``ConfluentRegistry`` — a Confluent-compatible Schema Registry over REST (aiohttp). At
  ``await ConfluentRegistry.connect(url)`` it registers each of our schemas under the
  subject ``<topic>-value`` (TopicNameStrategy; ``SUBJECTS``) and caches the ids the
  registry assigns. Registering an identical schema again is idempotent on the registry
  side, so every process learns the same ids.

Sync decode, async fetch. ``schema_for(id)`` is synchronous so the codec stays a plain
function; it answers only from what the registry already knows. A record written by
another producer may carry an id this process has never seen: the consumer then calls
``await registry.resolve(id)`` first (it fetches ``GET /schemas/ids/{id}`` once and caches
it), then decodes synchronously. ``AvroCodec.decode_async`` does exactly that::

    name, _ = await registry.resolve(schema_id_of(data))   # no-op when cached
    event = codec.decode(data)

``LocalRegistry.resolve`` just answers from the table. Unknown ids raise ``DecodeError``
(the record is bad: dead-letter it); a registry that cannot be reached or answers with an
unexpected status raises ``RegistryError`` (infrastructure: retry, do not dead-letter),
with the URL (password masked) and the HTTP status.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any, Protocol, runtime_checkable

import aiohttp
import fastavro
from yarl import URL

from schemas.errors import DecodeError, RegistryError
from schemas.topics import TOPIC_FOR_SCHEMA

ParsedSchema = Any
"""A schema as returned by ``fastavro.parse_schema`` (fastavro types it loosely)."""

LOCAL_IDS: dict[str, int] = {
    "exposure.v1": 1,
    "outcome.v1": 2,
    "assignment.v1": 3,
    "ranklist.v1": 4,
    "item.v1": 5,
    "joined.v1": 6,
}
"""Fixed schema ids of ``LocalRegistry``; part of the wire format, never renumber.
``joined.v1`` is an output (the live join's), so it has no typed event class."""

SUBJECTS: dict[str, str] = {name: f"{TOPIC_FOR_SCHEMA[name]}-value" for name in LOCAL_IDS}
"""Registry subject of each schema (TopicNameStrategy: ``<topic>-value``)."""

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


def avro_schema_doc(schema_name: str) -> dict[str, Any]:
    """The ``.avsc`` document of a schema name, as shipped in ``schemas/avro``."""
    if schema_name not in LOCAL_IDS:
        known = ", ".join(LOCAL_IDS)
        raise DecodeError(f"no Avro schema {schema_name!r}; known: {known}")
    text = resources.files("schemas").joinpath("avro", f"{schema_name}.avsc").read_text()
    doc: dict[str, Any] = json.loads(text)
    return doc


@functools.cache
def parsed_schema(schema_name: str) -> ParsedSchema:
    """Our Avro schema of ``schema_name``, parsed once per process."""
    return fastavro.parse_schema(avro_schema_doc(schema_name))


@functools.cache
def schema_text(schema_name: str) -> str:
    """The compact JSON text of our ``.avsc``, as registered with a schema registry."""
    return json.dumps(avro_schema_doc(schema_name), separators=(",", ":"))


@functools.cache
def _fullnames() -> dict[str, str]:
    """``recsys.v1.Exposure`` → ``exposure.v1``."""
    out = {}
    for name in LOCAL_IDS:
        doc = avro_schema_doc(name)
        out[f"{doc['namespace']}.{doc['name']}"] = name
    return out


def schema_name_of_fullname(fullname: str) -> str | None:
    """Which of our schemas an Avro record full name belongs to (``None`` if none)."""
    return _fullnames().get(fullname)


@runtime_checkable
class SchemaRegistry(Protocol):
    """Maps schema names to wire ids and wire ids back to (name, parsed writer schema)."""

    def id_for(self, schema_name: str) -> int:
        """The id written in the frame of a record of ``schema_name``."""
        ...

    def schema_for(self, schema_id: int) -> tuple[str, ParsedSchema]:
        """(schema name, parsed writer schema) of a known id; ``DecodeError`` if unknown."""
        ...

    async def resolve(self, schema_id: int) -> tuple[str, ParsedSchema]:
        """Like ``schema_for``, but may fetch an id not seen yet; call before ``decode``."""
        ...


class LocalRegistry:
    """Registry built from ``schemas/avro`` with the fixed ids of ``LOCAL_IDS``."""

    def __init__(self) -> None:
        self._ids = dict(LOCAL_IDS)
        self._by_id = {i: (name, parsed_schema(name)) for name, i in LOCAL_IDS.items()}

    def __repr__(self) -> str:
        return "LocalRegistry()"

    def id_for(self, schema_name: str) -> int:
        try:
            return self._ids[schema_name]
        except KeyError:
            known = ", ".join(self._ids)
            raise RegistryError(f"no schema {schema_name!r}; known: {known}") from None

    def schema_for(self, schema_id: int) -> tuple[str, ParsedSchema]:
        try:
            return self._by_id[schema_id]
        except KeyError:
            raise DecodeError(f"schema id {schema_id} unknown") from None

    async def resolve(self, schema_id: int) -> tuple[str, ParsedSchema]:
        return self.schema_for(schema_id)


def _masked(url: URL) -> str:
    return str(url.with_password("***")) if url.password else str(url)


class ConfluentRegistry:
    """Client of a Confluent-compatible Schema Registry; build it with ``connect``."""

    def __init__(
        self,
        url: str,
        ids: Mapping[str, int],
        *,
        timeout_s: float = 10.0,
    ) -> None:
        """Prefer ``await ConfluentRegistry.connect(url)``; this takes already known ids."""
        parsed = URL(url)
        self._headers = {"Accept": CONTENT_TYPE}
        if parsed.user:
            # Basic auth from the URL's userinfo (aiohttp.BasicAuth is deprecated in 3.14).
            token = base64.b64encode(f"{parsed.user}:{parsed.password or ''}".encode())
            self._headers["Authorization"] = "Basic " + token.decode("ascii")
        self._base = parsed.with_user(None).with_password(None)
        self.url = _masked(parsed)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._ids: dict[str, int] = dict(ids)
        self._by_id: dict[int, tuple[str, ParsedSchema]] = {
            i: (name, parsed_schema(name)) for name, i in ids.items()
        }

    def __repr__(self) -> str:
        return f"ConfluentRegistry({self.url!r})"

    @classmethod
    async def connect(
        cls,
        url: str,
        subjects: Mapping[str, str] | None = None,
        *,
        timeout_s: float = 10.0,
    ) -> ConfluentRegistry:
        """Register our schemas (``POST /subjects/{subject}/versions``) and cache their ids.

        ``subjects`` maps schema name → subject; default ``SUBJECTS`` (all five schemas).
        Raises ``RegistryError`` with the URL and status if any registration fails.
        """
        registry = cls(url, {}, timeout_s=timeout_s)
        chosen = dict(SUBJECTS if subjects is None else subjects)
        async with registry._session() as session:
            for name, subject in chosen.items():
                registry._remember(name, await registry._register(session, name, subject))
        return registry

    def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)

    def _remember(self, name: str, schema_id: int) -> None:
        self._ids[name] = schema_id
        self._by_id[schema_id] = (name, parsed_schema(name))

    async def _register(self, session: aiohttp.ClientSession, name: str, subject: str) -> int:
        if name not in LOCAL_IDS:
            raise RegistryError(f"cannot register {name!r}: not one of {', '.join(LOCAL_IDS)}")
        endpoint = self._base / "subjects" / subject / "versions"
        body = {"schemaType": "AVRO", "schema": schema_text(name)}
        what = f"registering {name} as subject {subject!r} at {self.url}"
        try:
            async with session.post(
                endpoint, json=body, headers={"Content-Type": CONTENT_TYPE}
            ) as resp:
                payload = await self._payload(resp, what)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RegistryError(f"{what}: {type(exc).__name__}: {exc}") from exc
        schema_id = payload.get("id") if isinstance(payload, dict) else None
        if type(schema_id) is not int:
            raise RegistryError(f"{what}: answer has no integer 'id': {payload!r:.200}")
        return schema_id

    async def _payload(self, resp: aiohttp.ClientResponse, what: str) -> Any:
        text = await resp.text()
        if resp.status != 200:
            raise RegistryError(f"{what}: HTTP {resp.status}: {text[:300]}")
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise RegistryError(f"{what}: HTTP 200 but not JSON: {text[:200]!r}") from exc

    def id_for(self, schema_name: str) -> int:
        try:
            return self._ids[schema_name]
        except KeyError:
            known = ", ".join(self._ids) or "none"
            raise RegistryError(
                f"{schema_name!r} is not registered at {self.url} (registered: {known})"
            ) from None

    def schema_for(self, schema_id: int) -> tuple[str, ParsedSchema]:
        try:
            return self._by_id[schema_id]
        except KeyError:
            raise DecodeError(
                f"schema id {schema_id} unknown (not yet fetched from {self.url}; "
                f"await registry.resolve({schema_id}) before decoding)"
            ) from None

    async def resolve(self, schema_id: int) -> tuple[str, ParsedSchema]:
        """Known id → cached; else ``GET /schemas/ids/{id}``, map it to one of our schemas.

        ``DecodeError`` when the registry does not know the id (404) or the schema is not
        one of our contracts; ``RegistryError`` for any other failure.
        """
        cached = self._by_id.get(schema_id)
        if cached is not None:
            return cached
        what = f"fetching schema id {schema_id} from {self.url}"
        try:
            async with (
                self._session() as session,
                session.get(self._base / "schemas" / "ids" / str(schema_id)) as resp,
            ):
                if resp.status == 404:
                    raise DecodeError(f"schema id {schema_id} unknown to registry {self.url}")
                payload = await self._payload(resp, what)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RegistryError(f"{what}: {type(exc).__name__}: {exc}") from exc
        entry = self._writer_schema(schema_id, payload, what)
        self._by_id[schema_id] = entry
        return entry

    def _writer_schema(self, schema_id: int, payload: Any, what: str) -> tuple[str, ParsedSchema]:
        if not isinstance(payload, dict) or not isinstance(payload.get("schema"), str):
            raise RegistryError(f"{what}: answer has no 'schema' string: {payload!r:.200}")
        kind = payload.get("schemaType", "AVRO")
        if kind != "AVRO":
            raise DecodeError(f"schema id {schema_id} is a {kind} schema, not Avro")
        try:
            doc = json.loads(payload["schema"])
            writer = fastavro.parse_schema(doc)
        except (ValueError, TypeError, KeyError) as exc:
            raise RegistryError(f"{what}: not a valid Avro schema: {exc}") from exc
        fullname = writer.get("name") if isinstance(writer, dict) else None
        name = schema_name_of_fullname(fullname) if isinstance(fullname, str) else None
        if name is None:
            raise DecodeError(f"schema id {schema_id} is {fullname!r}, not one of our contracts")
        if payload["schema"] == schema_text(name) or doc == avro_schema_doc(name):
            return name, parsed_schema(name)
        return name, writer


async def open_registry(url: str | None, *, timeout_s: float = 10.0) -> SchemaRegistry:
    """``LocalRegistry`` when ``url`` is empty, else a connected ``ConfluentRegistry``."""
    if not url:
        return LocalRegistry()
    return await ConfluentRegistry.connect(url, timeout_s=timeout_s)
