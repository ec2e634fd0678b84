"""Every repository path and Python module that the documentation names exists.

Read: ``README.md``, ``docs/*.md`` and ``docs/domains/*.md``. Checked:

- relative link targets ``[text](target)``, resolved against the linking file's folder;
- in inline code (backticks), tokens that look like repository paths: they start with
  ``ledger/``, ``api/``, ``consensus/``, ``keys/``, ``tests/``, ``bench/``, ``docs/`` or
  ``.ci/``, or are ``Makefile`` or ``pyproject.toml``. A ``{a,b}`` group is expanded, a ``*``
  must match something, ``:123`` and ``::test_name`` suffixes are dropped, a token holding a
  placeholder (``<name>``, ``...``) is skipped, and so is a path that ``.gitignore`` names
  from the root (``/bench/results/``: made by running something, not part of a clone);
- in inline code, dotted names starting with ``ledger.``, ``api.``, ``consensus.`` or ``keys.``:
  the longest prefix that is a module or package must exist as a file, and each remaining
  part must be defined in it textually (``def``, ``class``, an assignment or an import),
  so ``ledger.verify.verify_receipt`` and ``ledger.node.Node.receipt`` pass. Nothing is
  imported. Quoted strings (``"ledger.cosignature"``) and file names with a data suffix
  (``ledger.db``, ``ledger.js``) are not module names and are skipped.

Fenced blocks are not read: they hold shell sessions and logs, whose paths are relative to
a consortium's home (``keys/v1.pem``) and whose dotted words are logger names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATH_PREFIXES = ("ledger/", "api/", "consensus/", "keys/", "tests/", "bench/", "docs/", ".ci/")
ROOT_FILES = ("Makefile", "pyproject.toml")
MODULE_ROOTS = ("ledger", "api", "consensus", "keys")
DATA_SUFFIXES = frozenset(
    {"db", "json", "pem", "pdf", "csv", "txt", "log", "sqlite", "md", "js", "css", "html", "svg"}
)

_INLINE_CODE = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_DOTTED = re.compile(r"(?:ledger|api|consensus|keys)(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
_TOKEN_SPLIT = re.compile(r"[\s,;|=]+")
_STRIP = "()[]:;.,!?'\"“”‘’"
_PLACEHOLDER = ("<", ">", "...", "…", "$", "%")


@dataclass(frozen=True)
class Reference:
    doc: str
    line: int
    token: str
    problem: str

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: `{self.token}`: {self.problem}"


def documents() -> list[Path]:
    docs = ROOT / "docs"
    return [ROOT / "README.md", *sorted(docs.glob("*.md")), *sorted(docs.glob("domains/*.md"))]


def prose_lines(text: str) -> list[tuple[int, str]]:
    """``(line number, line)`` of every line outside fenced blocks."""
    lines: list[tuple[int, str]] = []
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append((number, line))
    return lines


@cache
def generated_paths() -> tuple[str, ...]:
    """Paths that ``.gitignore`` names from the root: made by running something."""
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    return tuple(line.strip()[1:] for line in lines if line.strip().startswith("/"))


def expand_braces(token: str) -> list[str]:
    match = re.search(r"\{([^{}]*)\}", token)
    if match is None:
        return [token]
    head, tail = token[: match.start()], token[match.end() :]
    return [x for part in match.group(1).split(",") for x in expand_braces(head + part + tail)]


def path_problem(token: str) -> str | None:
    """Why ``token`` (a path relative to the repository root) names nothing, or None."""
    for path in expand_braces(token):
        path = re.sub(r"::.*$", "", path)
        path = re.sub(r":\d+(-\d+)?$", "", path)
        if path.startswith(generated_paths()):
            continue
        if "*" in path:
            if not any(ROOT.glob(path.rstrip("/"))):
                return f"{path} matches no file"
        elif not (ROOT / path).exists():
            return f"{path} does not exist"
        elif path.endswith("/") and not (ROOT / path).is_dir():
            return f"{path} is not a folder"
    return None


def module_file(parts: list[str]) -> Path | None:
    base = ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def _source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def defines(path: Path, name: str) -> bool:
    n = re.escape(name)
    pattern = (
        rf"^\s*(?:async\s+def|def|class)\s+{n}\b"  # a function, method or class
        rf"|^\s*(?:self\.)?{n}\s*(?::[^=\n]*)?=(?!=)"  # an assignment (typed or not)
        rf"|^\s*{n}\s*:"  # a typed field without a value
        rf"|^\s*(?:from\s+\S+\s+)?import\s[^\n]*\b{n}\b"  # an import, one line
        rf"|^\s+{n},?\s*(?:#.*)?$"  # an import, one name per line
        rf"|\bas\s+{n}\b"  # an alias
    )
    return re.search(pattern, _source(path), re.MULTILINE) is not None


def dotted_problem(token: str) -> str | None:
    parts = token.split(".")
    for cut in range(len(parts), 0, -1):
        path = module_file(parts[:cut])
        if path is None:
            continue
        for name in parts[cut:]:
            if not defines(path, name):
                return f"{'.'.join(parts[:cut])} ({path.relative_to(ROOT)}) defines no {name}"
        return None
    return f"no module {parts[0]}.{parts[1]} (no file or package for it)"


def tokens(code: str) -> list[str]:
    """Candidate names in a code span; quoted strings are data, not names."""
    code = re.sub(r"\"[^\"]*\"|'[^']*'", " ", code)
    found = []
    for raw in _TOKEN_SPLIT.split(code):
        token = raw.split("(", 1)[0] if "(" in raw and not raw.startswith("(") else raw
        found.append(token.strip(_STRIP))
    return [t for t in found if t]


def reference_problem(token: str) -> str | None:
    if any(mark in token for mark in _PLACEHOLDER):
        return None
    if token in ROOT_FILES or token.startswith(PATH_PREFIXES):
        return path_problem(token)
    if _DOTTED.fullmatch(token) and token.rsplit(".", 1)[1] not in DATA_SUFFIXES:
        return dotted_problem(token)
    return None


def link_problem(doc: Path, target: str) -> str | None:
    if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
        return None  # a URL or an anchor in the same page
    path = (doc.parent / target.split("#", 1)[0]).resolve()
    if not path.exists():
        return f"link target {target} does not exist"
    if not path.is_relative_to(ROOT):
        return f"link target {target} is outside the repository (not in a clone)"
    return None


def stale_references() -> list[Reference]:
    stale: list[Reference] = []
    for doc in documents():
        text = doc.read_text(encoding="utf-8")
        name = str(doc.relative_to(ROOT))
        for line, prose in prose_lines(text):
            for link in _LINK.finditer(prose):
                problem = link_problem(doc, link.group(1))
                if problem:
                    stale.append(Reference(name, line, link.group(1), problem))
            for code in _INLINE_CODE.finditer(prose):
                for token in tokens(code.group(2)):
                    problem = reference_problem(token)
                    if problem:
                        stale.append(Reference(name, line, token, problem))
    return stale


def test_documents_are_found() -> None:
    names = {str(d.relative_to(ROOT)) for d in documents()}
    assert {"README.md", "docs/spec.md", "docs/architecture.md"} <= names


def test_every_named_path_and_module_exists() -> None:
    stale = stale_references()
    assert not stale, f"{len(stale)} stale reference(s) in the docs:\n" + "\n".join(
        str(r) for r in stale
    )


def test_the_checker_catches_what_it_should() -> None:
    assert reference_problem("ledger/merkle.py") is None
    assert reference_problem("ledger/no_such_module.py") is not None
    assert reference_problem("ledger/{merkle,verify}.py") is None
    assert reference_problem("ledger/{merkle,no_such}.py") is not None
    assert reference_problem("ledger.merkle") is None
    assert reference_problem("ledger.verify.verify_receipt") is None
    assert reference_problem("ledger.verify.no_such_function") is not None
    assert reference_problem("ledger.no_such_module") is not None
    assert reference_problem("api/domains/<name>.py") is None  # a placeholder
    assert reference_problem("ledger.db") is None  # a data file, not a module
    assert reference_problem("bench/results/") is None  # made by make bench
    assert tokens('"ledger.cosignature"') == []
    assert tokens("ledger.verify.verify_receipt(receipt, genesis)")[0] == (
        "ledger.verify.verify_receipt"
    )
