"""Request bodies, made from the commands: every action's JSON body, the registration body,
and their way back into the command the services take.

Each field of a command becomes a body field with the command's bounds (workflow.commands
metadata), free of control characters (a NUL would otherwise reach PostgreSQL and fail
there); unknown fields are refused. Bad input stops here with a 422 naming the field.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model

from tongban.services.core.errors import InvalidInput, VersionRequired
from tongban.workflow.actions import Action
from tongban.workflow.commands import Application, CaseCommand

# Tab, newline and carriage return are fine in free text; other C0 controls and DEL are not.
NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
MAX_VERSION = 2**31 - 1


def text(max_length: int, *, min_length: int = 0) -> StringConstraints:
    """Bounded length, no control characters."""
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=NO_CONTROL)


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


Version = Annotated[int, Field(ge=1, le=MAX_VERSION)]
_COMMON = frozenset(f.name for f in dataclasses.fields(CaseCommand))


def _optional(kind: Any) -> Any | None:
    """X for a field typed `X | None`, else None."""
    if typing.get_origin(kind) in (types.UnionType, typing.Union):
        rest = [k for k in typing.get_args(kind) if k is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return None


def _annotation(kind: Any, meta: typing.Mapping[str, Any]) -> Any:
    """The body type of one command field, with the field's bounds."""
    inner = _optional(kind)
    if inner is not None:
        return _annotation(inner, meta) | None
    origin = typing.get_origin(kind)
    if origin is tuple:
        item = _annotation(typing.get_args(kind)[0], meta)
        return Annotated[list[item], Field(max_length=meta["max_items"])]  # type: ignore[valid-type]
    if kind is str:
        limits = text(meta["max_length"], min_length=meta.get("min_length", 0))
        return Annotated[str, limits]
    if kind is int:
        return Annotated[int, Field(ge=meta["ge"], le=meta["le"])]
    if dataclasses.is_dataclass(kind):
        return body_of(kind)  # type: ignore[arg-type]
    if isinstance(kind, type) and issubclass(kind, Enum | bool):
        return kind
    raise TypeError(f"no body type for {kind!r}")


_BODIES: dict[type[Any], type[Input]] = {}


def body_of(cls: type[Any]) -> type[Input]:
    """The body model of a command or input dataclass (a case command's with `version`),
    made once: OpenAPI names each body model once."""
    made = _BODIES.get(cls)
    if made is None:
        made = _BODIES[cls] = _body_model(cls)
    return made


def _body_model(cls: type[Any]) -> type[Input]:
    hints = typing.get_type_hints(cls)
    spec: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in _COMMON:
            continue
        default = ... if f.default is dataclasses.MISSING else _body_value(f.default)
        annotation = _annotation(hints[f.name], f.metadata)
        spec[f.name] = (annotation, Field(default, description=f.metadata.get("label")))
    if issubclass(cls, CaseCommand):
        spec["version"] = (
            Version | None,
            Field(None, description="办件版本：您看到的版本号（或用 If-Match；二者必有其一）。"),
        )
    name = f"{cls.__name__}In"
    model: type[Input] = create_model(name, __base__=Input, __doc__=cls.__doc__, **spec)
    return model


def _body_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _domain_value(value: Any, kind: Any) -> Any:
    """A validated body value as the command's field takes it."""
    inner = _optional(kind)
    if inner is not None:
        return None if value is None else _domain_value(value, inner)
    if typing.get_origin(kind) is tuple:
        (item,) = typing.get_args(kind)[:1]
        return tuple(_domain_value(v, item) for v in value)
    if dataclasses.is_dataclass(kind) and isinstance(value, BaseModel):
        return kind(**value.model_dump())  # type: ignore[operator]
    return value


def _values(cls: type[Any], body: BaseModel) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {
        f.name: _domain_value(getattr(body, f.name), hints[f.name])
        for f in dataclasses.fields(cls)
        if f.name not in _COMMON
    }


def command_of(
    action: Action, case_no: str, body: BaseModel, *, if_match: str | None = None
) -> CaseCommand:
    """The command an action's validated body asks for. Every action names the version it
    acts on (`version` or If-Match); without it, VersionRequired (428)."""
    version = expected_version(getattr(body, "version", None), if_match)
    if version is None:
        raise VersionRequired(
            "办件版本：未说明要办理的是办件的哪个版本。请重新读取办件，"
            "在请求体中发送其 version，或在 If-Match 头中发送其 ETag。",
            field="version",
        )
    return action.command(
        case_no=case_no, expected_version=version, **_values(action.command, body)
    )


def application_of(body: BaseModel) -> Application:
    return Application(**_values(Application, body))


RegisterIn = body_of(Application)


def parse_if_match(value: str | None) -> int | None:
    """`If-Match: "3"` (also W/"3" or 3) -> 3."""
    if value is None:
        return None
    tag = value.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    tag = tag.strip('"')
    if not (tag.isascii() and tag.isdigit() and 0 < len(tag) <= 10):
        raise InvalidInput(
            'If-Match：应为办件版本号，如 "3"（取自办件详情的 version 或 ETag）。',
            field="if-match",
        )
    return int(tag)


def expected_version(body_version: int | None, if_match: str | None) -> int | None:
    header_version = parse_if_match(if_match)
    if body_version is not None and header_version is not None and body_version != header_version:
        raise InvalidInput(
            f"办件版本：请求体中的 version（{body_version}）"
            f"与 If-Match（{header_version}）不一致。",
            field="version",
        )
    return body_version if body_version is not None else header_version
