"""Reports of ``cnncalc check`` in four formats: text (compiler style), JSON, GitHub annotations and JUnit XML.

Each takes the list of FileResult that check.check_all returned and gives the whole report as a string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from xml.etree import ElementTree

from ..errors import CnnCalcError, UsageError, one_line
from .check import FileResult


def _line(result: FileResult, error: CnnCalcError) -> str:
    """``file:line:col: error: message [layer]``; an error without a place is prefixed by the target."""
    return str(error) if error.location else f"{result.target}: {error}"


def _tally(results: Sequence[FileResult]) -> str:
    failed = sum(not result.ok for result in results)
    return f"checked {len(results)} file{'s' if len(results) != 1 else ''}: " + (
        f"{failed} failed" if failed else "all passed"
    )


def text(results: Sequence[FileResult]) -> str:
    """One line per passing file, one line per error (compiler convention), and a tally for several files."""
    lines = []
    for result in results:
        if result.ok:
            lines.append(f"{result.target}: {result.verdict}")
        lines.extend(_line(result, error) for error in result.errors)
    if len(results) > 1:
        lines.append(_tally(results))
    return "\n".join(lines) + "\n"


def error_record(error: CnnCalcError, fallback_file: str) -> dict:
    """The JSON form of one error: where, what, which layer, through which block uses."""
    location = error.location
    return {
        "file": location.file if location else fallback_file,
        "line": location.line if location else None,
        "column": location.column if location else None,
        "message": error.detail,
        "layer": error.layer,
        "blocks": [
            {"block": block, "file": site.file, "line": site.line, "column": site.column} for block, site in error.uses
        ],
        "usage": isinstance(error, UsageError),
        "text": str(error) if location else f"{fallback_file}: {error}",
    }


def to_json(results: Sequence[FileResult]) -> str:
    """One document: ``{"ok", "checked", "failed", "files": [{"file", "ok", "errors", "summary"}]}``."""
    document = {
        "ok": all(result.ok for result in results),
        "checked": len(results),
        "failed": sum(not result.ok for result in results),
        "files": [
            {
                "file": result.target,
                "ok": result.ok,
                "kind": "library" if result.library else "network",
                "seconds": round(result.seconds, 4),
                "errors": [error_record(error, result.target) for error in result.errors],
                "summary": result.summary if result.ok else None,
            }
            for result in results
        ],
    }
    return json.dumps(document, indent=1) + "\n"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(results: Sequence[FileResult]) -> str:
    """GitHub Actions workflow commands: ``::error file=F,line=L,col=C,title=cnncalc::message [layer]``.

    Data escapes ``% \\r \\n``; property values escape ``, :`` as well, as the runner expects.
    """
    lines = []
    for result in results:
        for error in result.errors:
            where = error.location
            properties = [f"file={_escape_property(where.file if where else result.target)}"]
            if where:
                properties += [f"line={where.line}", f"col={where.column}"]
            properties.append(f"title={_escape_property('cnncalc check')}")
            layer = f" [{error.layer}]" if error.layer else ""
            lines.append(f"::error {','.join(properties)}::{_escape_data(error.detail + layer)}")
    lines.append(_tally(results))
    return "\n".join(lines) + "\n"


_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(value: str) -> str:
    """XML 1.0 cannot hold most control characters even escaped: show them as \\xNN."""
    return _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}", value)


def junit(results: Sequence[FileResult]) -> str:
    """JUnit XML as CI systems render it: one test suite, one test case per file, a failure per broken file."""
    failed = sum(not result.ok for result in results)
    seconds = f"{sum(result.seconds for result in results):.3f}"
    root = ElementTree.Element(
        "testsuites", name="cnncalc check", tests=str(len(results)), failures=str(failed), errors="0", time=seconds
    )
    suite = ElementTree.SubElement(
        root,
        "testsuite",
        name="cnncalc check",
        tests=str(len(results)),
        failures=str(failed),
        errors="0",
        skipped="0",
        time=seconds,
    )
    for result in results:
        case = ElementTree.SubElement(
            suite,
            "testcase",
            classname="cnncalc.check",
            name=_xml_text(result.target),
            file=_xml_text(result.target),
            time=f"{result.seconds:.3f}",
        )
        if result.ok:
            ElementTree.SubElement(case, "system-out").text = _xml_text(f"{result.target}: {result.verdict}")
            continue
        first = result.errors[0]
        failure = ElementTree.SubElement(
            case, "failure", type=type(first).__name__, message=_xml_text(one_line(first.detail))
        )
        failure.text = _xml_text("\n".join(_line(result, error) for error in result.errors))
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def render(results: Sequence[FileResult], report_format: str) -> str:
    """The report in ``report_format``: text, json, github or junit."""
    return {"text": text, "json": to_json, "github": github, "junit": junit}[report_format](results)
