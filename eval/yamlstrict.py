"""Strict YAML into frozen dataclasses: unknown keys and wrong types name file and line.

The original decodes with yaml.v3 ``KnownFields(true)``; this does the same for any
dataclass tree whose fields are ``str``, ``int``, ``float``, ``bool``, nested
dataclasses, ``tuple[X, ...]``, ``Mapping[str, X]`` or ``X | None``. A dataclass
may define ``check()`` raising ConfigError; the decoder re-raises it with the file
and line of that mapping. ``load_strict_with_lines`` also returns the line of every
key it decoded (``"ope.unit"``, ``"offline.metrics[0]"``), so checks made after
decoding can name the line too. Every error reads ``file:line: message``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import yaml

from eval.timeparse import format_rfc3339
from schemas.errors import ConfigError

T = TypeVar("T")


class _LineMap(dict[Any, Any]):
    """A YAML mapping that remembers the line of each key and of itself."""

    lines: dict[Any, int]
    line: int


class _Loader(yaml.SafeLoader):
    """SafeLoader whose mappings are ``_LineMap`` and reject duplicate keys."""


class _DuplicateKeyError(Exception):
    def __init__(self, line: int, key: Any) -> None:
        super().__init__(f"mapping key {key!r} already defined")
        self.line = line


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _LineMap:
    loader.flatten_mapping(node)
    mapping = _LineMap()
    mapping.lines = {}
    mapping.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in mapping:
            raise _DuplicateKeyError(line, key)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = line
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: Path) -> Any:
    """Parse a YAML file; syntax errors and unreadable files become ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader subclass
    except _DuplicateKeyError as exc:
        raise ConfigError(f"{path}:{exc.line}: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        if mark is None:
            raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
        problem = ": ".join(filter(None, [exc.context, exc.problem]))
        raise ConfigError(
            f"{path}:{mark.line + 1}: invalid YAML: {problem} (column {mark.column + 1})"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc


def load_strict(cls: type[T], path: Path) -> T:
    """Load ``path`` into dataclass ``cls``; an empty file gives all defaults."""
    return load_strict_with_lines(cls, path)[0]


def load_strict_with_lines(cls: type[T], path: Path) -> tuple[T, dict[str, int]]:
    """``load_strict``, plus the 1-based line of every key decoded, by dotted path."""
    data = load_yaml(path)
    if data is None:
        data = _LineMap()
        data.lines, data.line = {}, 1
    decoder = _Decoder(path)
    return cast(T, decoder.value(cls, data, "", 1)), decoder.lines


class _Decoder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[str, int] = {}

    def fail(self, line: int, message: str) -> ConfigError:
        return ConfigError(f"{self.path}:{line}: {message}")

    def value(self, tp: Any, data: Any, where: str, line: int) -> Any:
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            if data is None:
                return None
            (inner,) = [arg for arg in typing.get_args(tp) if arg is not type(None)]
            return self.value(inner, data, where, line)
        if dataclasses.is_dataclass(tp):
            return self.dataclass(cast(type[Any], tp), data, where, line)
        if origin is tuple:
            if not isinstance(data, list):
                raise self.fail(line, f"{where} must be a list, got {_kind(data)}")
            (inner, _ellipsis) = typing.get_args(tp)
            items = []
            for index, item in enumerate(data):
                self.lines[f"{where}[{index}]"] = item_line = getattr(item, "line", line)
                items.append(self.value(inner, item, f"{where}[{index}]", item_line))
            return tuple(items)
        if origin in (Mapping, dict):
            if not isinstance(data, dict):
                raise self.fail(line, f"{where} must be a mapping, got {_kind(data)}")
            _key_tp, inner = typing.get_args(tp)
            lines = getattr(data, "lines", {})
            return {
                str(key): self.value(inner, item, f"{where}.{key}", lines.get(key, line))
                for key, item in data.items()
            }
        return self.scalar(tp, data, where, line)

    def scalar(self, tp: Any, data: Any, where: str, line: int) -> Any:
        if tp is bool:
            if isinstance(data, bool):
                return data
            raise self.fail(line, f"{where} must be true or false, got {data!r}")
        if tp is int:
            if isinstance(data, int) and not isinstance(data, bool):
                return data
            raise self.fail(line, f"{where} must be an integer, got {data!r}")
        if tp is float:
            if isinstance(data, int | float) and not isinstance(data, bool):
                return float(data)
            raise self.fail(line, f"{where} must be a number, got {data!r}")
        if tp is str:
            if isinstance(data, str):
                return data
            if isinstance(data, datetime):  # an unquoted YAML timestamp
                if data.tzinfo is None:
                    raise self.fail(line, f"{where}: timestamp {data} has no zone (not RFC3339)")
                return format_rfc3339(data)
            raise self.fail(line, f"{where} must be a string, got {data!r}")
        raise TypeError(f"unsupported config field type {tp!r} at {where}")

    def dataclass(self, cls: type[Any], data: Any, where: str, line: int) -> Any:
        if not isinstance(data, dict):
            raise self.fail(line, f"{where or 'the document'} must be a mapping, got {_kind(data)}")
        line = getattr(data, "line", line)  # the mapping's own first line
        hints = typing.get_type_hints(cls)
        known = {f.name for f in dataclasses.fields(cls)}
        lines: dict[Any, int] = getattr(data, "lines", {})
        kwargs: dict[str, Any] = {}
        for key, item in data.items():
            key_line = lines.get(key, line)
            dotted = f"{where}.{key}" if where else str(key)
            self.lines[dotted] = key_line
            if key not in known:
                raise self.fail(
                    key_line, f"unknown key {dotted!r} (known keys: {', '.join(sorted(known))})"
                )
            if item is None:  # `key:` with no value keeps the default, as yaml.v3 does
                continue
            kwargs[key] = self.value(hints[key], item, dotted, key_line)
        obj = cls(**kwargs)
        check = getattr(obj, "check", None)
        if check is not None:
            try:
                check()
            except ConfigError as exc:  # keep the subclass (e.g. UnknownMetricError)
                raise type(exc)(f"{self.path}:{line}: {where}: {exc}") from None
        return obj


def _kind(data: Any) -> str:
    if isinstance(data, dict):
        return "a mapping"
    if isinstance(data, list):
        return "a list"
    return repr(data)
