"""Dataclass configuration <-> plain dicts and YAML recipe files.

Every configurable part of the toolkit is a (frozen) dataclass defined next to the code it
configures. This module only converts them: recipes load into dataclasses (unknown keys are
errors, so a typo never passes silently) and resolved configs are saved beside every run.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from .errors import ConfigError
from .fileio import write_text_atomic

T = TypeVar("T")


def to_dict(config: Any) -> dict[str, Any]:
    """A dataclass (possibly nested) as a plain dict of builtins, ready for YAML or JSON."""
    if not dataclasses.is_dataclass(config):
        raise TypeError(f"expected a dataclass instance, got {type(config).__name__}")
    return _plain(dataclasses.asdict(config))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def from_dict(cls: type[T], data: dict[str, Any], *, where: str = "config") -> T:
    """Build dataclass ``cls`` from ``data``, recursing into nested dataclass fields.

    Raises ConfigError on unknown keys or on a value that is not a mapping where a nested
    dataclass is expected. A class with a ``upgrade_legacy(data, where)`` static method gets to
    rewrite keys of older recipes and run folders first.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    upgrade = getattr(cls, "upgrade_legacy", None)  # a config class that renamed keys maps old files itself
    if upgrade is not None:
        data = upgrade(dict(data), where)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; expected some of {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        nested = _dataclass_type(hints.get(name))
        if nested is not None and isinstance(value, dict):
            kwargs[name] = from_dict(nested, value, where=f"{where}.{name}")
        elif isinstance(value, list) and _is_tuple(hints.get(name)):
            kwargs[name] = tuple(value)
        else:
            kwargs[name] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def check_choices(config: Any, where: str = "") -> None:
    """ConfigError unless every ``Literal``-typed field of dataclass ``config`` holds one of its choices.

    Call it from ``__post_init__``: the choices are written once, in the type hint. ``where``
    prefixes the field's name in the message (e.g. "sync.").
    """
    hints = typing.get_type_hints(type(config))
    for field in dataclasses.fields(config):
        allowed = _literal_choices(hints.get(field.name))
        value = getattr(config, field.name)
        if allowed is not None and value not in allowed and not (value is None and None in allowed):
            shown = "|".join(str(a) for a in allowed if a is not None)
            raise ConfigError(f"{where}{field.name} must be one of {shown}, got {value!r}")


def _literal_choices(hint: Any) -> tuple[Any, ...] | None:
    """The values a ``Literal[...]`` (optionally ``| None``) hint allows; None for other hints."""
    if typing.get_origin(hint) is typing.Literal:
        return typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        literals = [a for a in args if typing.get_origin(a) is typing.Literal]
        if literals and all(a is type(None) or a in literals for a in args):
            return (*(v for a in literals for v in typing.get_args(a)), None)
    return None


def _dataclass_type(hint: Any) -> type | None:
    if hint is None:
        return None
    if dataclasses.is_dataclass(hint):
        return hint  # type: ignore[return-value]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            if dataclasses.is_dataclass(arg):
                return arg  # type: ignore[return-value]
    return None


def _is_tuple(hint: Any) -> bool:
    """A tuple hint, optional ones (``tuple[int, int] | None``) included."""
    if hint is tuple or typing.get_origin(hint) is tuple:
        return True
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and any(_is_tuple(a) for a in typing.get_args(hint))


def load_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML mapping from ``path`` (empty file -> empty dict)."""
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"recipe not found: {path}") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def load_recipe(cls: type[T], path: str | os.PathLike[str]) -> T:
    """Load a YAML recipe file into dataclass ``cls``."""
    return from_dict(cls, load_yaml(path), where=str(path))


def recipe_yaml(config: Any) -> str:
    """A dataclass config as the YAML text recipes are written in."""
    import yaml

    return yaml.safe_dump(to_dict(config), sort_keys=False)


def save_recipe(config: Any, path: str | os.PathLike[str]) -> None:
    """Save a dataclass config as YAML, atomically."""
    write_text_atomic(path, recipe_yaml(config))
