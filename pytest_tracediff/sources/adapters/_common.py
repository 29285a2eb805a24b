"""Logic every framework adapter needs, written once.

Nothing here imports a framework.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import inspect
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from ...errors import CaptureError, MissingFrameworkError, UnknownTraceError


def require(framework: str, extra: str) -> ModuleType:
    """Import ``framework`` or raise the error that names the extra to install."""
    try:
        return importlib.import_module(framework)
    except ImportError:
        raise MissingFrameworkError(framework, extra) from None


def from_module(obj: object, root: str) -> bool:
    """True when ``obj``'s class (or a base class) is defined in package ``root``."""
    for cls in type(obj).__mro__:
        module = cls.__module__ or ""
        if module == root or module.startswith(root + "."):
            return True
    return False


def first_item(obj: object) -> object | None:
    """The first element of a non-empty list or tuple, else None."""
    if isinstance(obj, (list, tuple)) and obj:
        first: object = obj[0]
        return first
    return None


def load_json(obj: object) -> Any:
    """Parsed JSON from text, bytes or a path to a ``.json`` file; ``None`` if it is none of those."""
    if isinstance(obj, (os.PathLike, Path)):
        path = Path(os.fspath(obj))
        if path.suffix != ".json" or not path.is_file():
            return None
        obj = path.read_text(encoding="utf-8")
    if isinstance(obj, bytes):
        obj = obj.decode("utf-8", errors="replace")
    if not isinstance(obj, str) or obj.lstrip()[:1] not in ("{", "["):
        return None
    try:
        return json.loads(obj)
    except json.JSONDecodeError:
        return None


def malformed(source: str, detail: str) -> UnknownTraceError:
    """The error for an object that looked like ``source``'s but could not be read."""
    return UnknownTraceError(f"this looks like a {source} trace but cannot be read: {detail}")


def epoch_seconds(value: object) -> float | None:
    """A datetime, ISO string or number as seconds; None if it is none of those."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.timestamp()
    return None


def decimal_or_none(value: object) -> Decimal | None:
    """An exact Decimal from a decimal string, int or Decimal (a float via its repr)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, float):
            return Decimal(repr(value))
        return Decimal(str(value))
    except InvalidOperation:
        return None


def installed_version(module: str) -> str:
    """``"dagron 0.1.1"``: the distribution that provides ``module``, for error messages."""
    top = module.split(".", maxsplit=1)[0]
    for dist in metadata.packages_distributions().get(top, [top]):
        try:
            return f"{dist} {metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            continue
    return f"{top} (version unknown)"


def require_attributes(owner: Any, *names: str) -> None:
    """Check that the private framework attributes a capture relies on exist.

    A framework release whose internals moved gets one ``CaptureError`` naming the
    framework, its version and the attribute, instead of an ``AttributeError`` from
    inside the patching (or, worse, a patch that silently does nothing).
    """
    missing = [name for name in names if not hasattr(owner, name)]
    if missing:
        module = owner.__name__ if isinstance(owner, ModuleType) else getattr(owner, "__module__", "") or ""
        what = owner.__name__ if isinstance(owner, (ModuleType, type)) else type(owner).__qualname__
        raise CaptureError(
            f"cannot capture: {installed_version(module)} has no {what}.{missing[0]}, which pytest-tracediff "
            f"uses to force tracing on; this release's internals moved. Install a version the extra "
            f"supports (see pytest-tracediff's extras), or report it to pytest-tracediff."
        )


@contextmanager
def patched(owner: Any, name: str, replacement: Any, *, add: bool = False) -> Iterator[None]:
    """Set ``owner.name`` for the block and put the original back, also on error.

    ``owner.name`` must exist (a moved internal is a ``CaptureError``), unless ``add``:
    then it is added for the block (a class-level override of an instance attribute).
    """
    if not add:
        require_attributes(owner, name)
    missing = object()
    original = owner.__dict__.get(name, missing) if hasattr(owner, "__dict__") else getattr(owner, name)
    setattr(owner, name, replacement)
    try:
        yield
    finally:
        if original is missing:
            delattr(owner, name)
        else:
            setattr(owner, name, original)


def collecting(method: Callable[..., Any], collect: Callable[[Any], None], pick: Callable[[Any], Any]) -> Any:
    """Wrap ``method`` so each result's ``pick(result)`` (if not None) goes to ``collect``.

    Works for sync and async methods; the result is returned unchanged.
    """
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def wrapper_async(*args: Any, **kwargs: Any) -> Any:
            result = await method(*args, **kwargs)
            found = pick(result)
            if found is not None:
                collect(found)
            return result

        return wrapper_async

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = method(*args, **kwargs)
        found = pick(result)
        if found is not None:
            collect(found)
        return result

    return wrapper


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the block and restore the previous values."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def chat_message(
    role: str,
    content: Any,
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    tool_call_id: str | None = None,
    name: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One chat message as goldens hold it, whatever framework sent it.

    Role, content, tool calls (name and arguments), the id a tool result answers
    and a name; empty fields are left out (so is the empty content of a reply that
    only calls tools), so every adapter's messages read alike and a golden never
    holds a framework's message class, ids or timestamps.
    """
    message: dict[str, Any] = {"role": role}
    if content not in (None, "") or not tool_calls:
        message["content"] = content
    if tool_calls:
        message["tool_calls"] = tool_calls
    if tool_call_id:
        message["tool_call_id"] = tool_call_id
    if name:
        message["name"] = name
    message.update((key, value) for key, value in extra.items() if value not in (None, "", [], {}))
    return message


def overlap_levels(
    items: list[Any], start: Callable[[Any], float | None], end: Callable[[Any], float | None]
) -> Iterator[tuple[Any, int | None]]:
    """Siblings in start order; each run of time-overlapping ones shares a ``level``.

    Steps that overlapped ran concurrently: the level lets normalization order them by
    content, so completion order never reaches a golden. Lone steps get ``None``.
    """
    ordered = sorted(items, key=lambda item: (start(item) or 0.0, end(item) or 0.0))
    groups: list[list[Any]] = []
    group_end = 0.0
    for item in ordered:
        begin = start(item) or 0.0
        finish = end(item) or begin
        if groups and begin < group_end:
            groups[-1].append(item)
            group_end = max(group_end, finish)
        else:
            groups.append([item])
            group_end = finish
    level = 0
    for group in groups:
        if len(group) == 1:
            yield group[0], None
            continue
        for item in group:
            yield item, level
        level += 1


def json_or_text(value: Any) -> Any:
    """A JSON object/array held as text, parsed; anything else unchanged."""
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def exception_text(error: BaseException) -> str:
    """``str(error)``, which user exceptions may break; then their class name."""
    try:
        return str(error)
    except Exception:
        return f"<unprintable {type(error).__name__}>"
