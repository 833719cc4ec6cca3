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
from typing import Any, Iterable, TypeVar

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


def parse_assignments(cls: type, assignments: Iterable[str]) -> dict[str, Any]:
    """``key=value`` strings (the CLI's ``--set``) as dotted overrides of dataclass ``cls``.

    Each value is converted to its field's type hint (int, float, bool, str, ``Literal``, tuples,
    optional ``null``), so a typo in a key or a value fails before any work starts, as a ConfigError.
    """
    overrides: dict[str, Any] = {}
    for item in assignments:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        overrides[key] = parse_value(text.strip(), field_hint(cls, key), key)
    return overrides


def field_hint(cls: type, dotted: str) -> Any:
    """The type hint of the leaf field ``dotted`` (e.g. "sync.weight") of dataclass ``cls``."""
    hint: Any = cls
    for name in dotted.split("."):
        owner = _dataclass_type(hint)
        if owner is None or name not in {f.name for f in dataclasses.fields(owner)}:  # type: ignore[arg-type]
            raise ConfigError(f"unknown config key {dotted!r}")
        hint = typing.get_type_hints(owner)[name]
    if _dataclass_type(hint) is not None:
        raise ConfigError(f"{dotted} is a section; set one of its keys, e.g. {dotted}.<key>=value")
    return hint


_BOOLS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}
_NULLS = ("null", "none", "~")


def parse_value(text: str, hint: Any, key: str) -> Any:
    """``text`` as a value of type ``hint``; ConfigError naming ``key`` when it is not one."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and text.lower() in _NULLS:
            return None
        for arg in args:
            if arg is not type(None):
                try:
                    return parse_value(text, arg, key)
                except ConfigError:
                    pass
    elif origin is typing.Literal:
        for choice in args:
            if str(choice) == text:
                return choice
        raise ConfigError(f"{key} must be one of {'|'.join(str(a) for a in args)}, got {text!r}")
    elif hint is tuple or origin is tuple:
        items = [item.strip() for item in text.strip("[]() ").split(",") if item.strip()]
        kinds = [args[0]] * len(items) if len(args) == 2 and args[1] is Ellipsis else list(args)
        if len(kinds) == len(items):
            return tuple(parse_value(item, kind, key) for item, kind in zip(items, kinds))
    elif hint is bool:
        if text.lower() in _BOOLS:
            return _BOOLS[text.lower()]
    elif hint in (int, float):
        try:
            return hint(text)
        except ValueError:
            pass
    elif hint is str:
        return text
    raise ConfigError(f"{key} expects {_hint_name(hint)}, got {text!r}")


def _hint_name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")


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
