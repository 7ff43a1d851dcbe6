"""``cnncalc check``: validate many descriptions, their budgets and any extra checks; collect, never stop early.

Targets are files, directories (every ``*.yaml`` / ``*.yml`` below them, hidden folders skipped), glob patterns
(``'nets/**/*.yaml'``, for shells that do not expand them) and built-in names. A file whose name starts with ``_``
and that holds only ``blocks`` (no ``input``, no ``layers``) is a block library, the kind descriptions include:
it is checked as one (YAML, keys, block definitions), not as a network.

Extra checks plug in through ``extra_checks``: callables ``(target, network, report) -> str | None`` run after a
network propagated and met its budgets (``check --execute`` is one). They raise CnnCalcError on a failure, which
is collected like any other; the text they return is added to the verdict of a pass.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ..errors import CnnCalcError, UsageError
from ..registry import format_shape
from ..units import human
from .budget import Limit, violations

ExtraCheck = Callable[..., "str | None"]
SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class CheckOptions:
    """How to check: input override, batch, element type and the limits given on the command line."""

    input_shape: tuple | None = None
    batch: int = 1
    dtype: str = "float32"
    limits: tuple[Limit, ...] = ()


@dataclass
class FileResult:
    """The outcome for one target: its errors (none when it passed) and, when it propagated, its totals."""

    target: str
    errors: list[CnnCalcError] = field(default_factory=list)
    summary: dict | None = None
    library: bool = False
    seconds: float = 0.0
    note: str = ""  # what extra checks add to the verdict

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def usage_error(self) -> bool:
        return any(isinstance(error, UsageError) for error in self.errors)

    @property
    def verdict(self) -> str:
        """The one-line description of a pass: what the network computes, or how many blocks a library holds."""
        if self.library:
            count = self.summary["blocks"]
            return f"ok (block library: {count} block{'s' if count != 1 else ''})"
        s = self.summary
        return (
            f"ok ({s['name']}: output {format_shape(s['output'])}, {human(s['params'])} params, "
            f"{human(s['macs'], 'MACs')}{self.note})"
        )


def expand_targets(targets: Iterable[str]) -> list[tuple[str, UsageError | None]]:
    """Each target as the files it stands for, or a usage error (a folder or pattern that matches nothing).

    Folders and patterns follow symlinked folders but enter each real folder once and give each real file once,
    so a link to ``.`` or to a parent is no cycle and no file is checked twice; the work is one visit per real
    folder and file."""
    expanded: list[tuple[str, UsageError | None]] = []
    seen: set[str] = {os.path.realpath(target) for target in targets if Path(target).is_file()}
    for target in targets:
        path = Path(target)
        if path.is_dir():
            found = list(_walk(target, hidden=False, suffixes=SUFFIXES))
            if not found:
                expanded.append((target, UsageError(f"{target}: no .yaml or .yml files in this folder")))
            expanded.extend((name, None) for name in _once(found, seen))
        elif not path.exists() and glob.has_magic(target):
            found = _glob(target)
            if not found:
                expanded.append((target, UsageError(f"{target}: no file matches this pattern")))
            expanded.extend((name, None) for name in _once(found, seen))
        else:
            expanded.append((target, None))
    return expanded


def _once(names: Iterable[str], seen: set[str]) -> list[str]:
    """The names, sorted, without those whose real file was already seen (here or in an earlier target)."""
    kept = []
    for name in sorted(names):
        real = os.path.realpath(name)
        if real not in seen:
            seen.add(real)
            kept.append(name)
    return kept


def _walk(root: str, hidden: bool, suffixes: tuple[str, ...] = ("",)) -> Iterator[str]:
    """Every file below ``root`` whose name ends with one of ``suffixes`` (``root`` joined to its relative path;
    '' is the current folder), following symlinked folders into each real folder once; hidden folders and files
    only when ``hidden``."""
    entered = {os.path.realpath(root or ".")}
    for folder, folders, files in os.walk(root or ".", followlinks=True):
        kept = []
        for name in sorted(folders, key=lambda name: (os.path.islink(os.path.join(folder, name)), name)):
            real = os.path.realpath(os.path.join(folder, name))
            if (hidden or not name.startswith(".")) and real not in entered:
                entered.add(real)
                kept.append(name)
        folders[:] = kept
        relative = os.path.relpath(folder, root or ".")
        for name in files:
            if name.endswith(suffixes) and (hidden or not name.startswith(".")):
                yield os.path.normpath(os.path.join(root, relative, name))


def _glob(pattern: str) -> list[str]:
    """The files a glob pattern names. Without ``**`` that is ``glob.glob``; with it, a walk of the folder before
    the first magic segment, matching each file's path segment by segment as ``glob`` would (a wildcard or
    ``**`` never matches a hidden name), since ``glob`` itself enters a symlinked folder again and again."""
    if "**" not in pattern:
        return [name for name in glob.glob(pattern) if Path(name).is_file()]
    parts = pattern.split(os.sep)
    fixed = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    root = os.sep.join(parts[:fixed]) or ("" if fixed == 0 else os.sep)
    wanted = parts[fixed:]
    found = []
    for name in _walk(root, hidden=any(part.startswith(".") for part in wanted)):
        relative = os.path.relpath(name, root or ".").split(os.sep)
        if _matches(tuple(wanted), tuple(relative)) and Path(name).is_file():
            found.append(name)
    return found


def _matches(pattern: tuple[str, ...], parts: tuple[str, ...]) -> bool:
    """Whether path segments match pattern segments, ``**`` standing for any number of non-hidden segments."""

    @cache
    def match(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(parts)
        if pattern[i] == "**":
            return match(i + 1, j) or (j < len(parts) and not parts[j].startswith(".") and match(i, j + 1))
        if j == len(parts) or (parts[j].startswith(".") and not pattern[i].startswith(".")):
            return False
        return fnmatch.fnmatchcase(parts[j], pattern[i]) and match(i + 1, j + 1)

    return match(0, 0)


def _is_library(target: str) -> bool:
    """A '_' file of blocks only; anything unreadable is checked as a network, which reports it."""
    from ..source import Mapping, parse_yaml, read_file

    path = Path(target)
    if not path.name.startswith("_") or path.suffix not in SUFFIXES or not path.is_file():
        return False
    try:
        document = parse_yaml(read_file(path), target)
    except CnnCalcError:
        return False
    return isinstance(document, Mapping) and "layers" not in document and "input" not in document


def _summary(report) -> dict:
    totals = report.totals
    return {
        "name": report.name,
        "output": list(report.output),
        "params": totals.params,
        "macs": totals.macs,
        "flops": totals.flops,
        "activation_bytes": totals.activation_bytes,
    }


def check_target(target: str, options: CheckOptions, extra_checks: Sequence[ExtraCheck] = ()) -> FileResult:
    """Check one file or built-in name; every error is collected in the result, none is raised."""
    from ..load import load, load_library
    from ..propagate import propagate

    start = time.perf_counter()
    result = FileResult(target)
    try:
        if _is_library(target):
            result.library = True
            result.summary = {"blocks": len(load_library(target))}
        else:
            network = load(target, options.input_shape)
            report = propagate(network, options.batch, options.dtype)
            result.summary = _summary(report)
            result.errors.extend(violations(report, network.expect, list(options.limits)))
            for extra in extra_checks:
                if not result.errors:
                    result.note += extra(target, network, report) or ""
    except CnnCalcError as error:
        result.errors.append(error)
    result.seconds = time.perf_counter() - start
    return result


def check_all(
    targets: Iterable[str], options: CheckOptions, extra_checks: Sequence[ExtraCheck] = ()
) -> list[FileResult]:
    """Check every target, in order, whatever fails before it."""
    results = []
    for target, problem in expand_targets(targets):
        if problem is not None:
            results.append(FileResult(target, [problem]))
        else:
            results.append(check_target(target, options, extra_checks))
    return results


def exit_code(results: Sequence[FileResult]) -> int:
    """2 if a target was a usage mistake (a missing path), else 1 if any failed, else 0."""
    if any(result.usage_error for result in results):
        return 2
    return 1 if any(not result.ok for result in results) else 0
