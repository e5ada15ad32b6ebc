"""The docs stay short, findable and true to the code.

- README.md is at most 200 lines, links every document under docs/ (and the integration guide),
  and its test command is the one CI runs, verbatim.
- Every relative link in README.md, FRONTEND_INTEGRATION_GUIDE.md and docs/ leads to a file that
  exists.
- The architecture picture (docs/architecture.md) names every module of the import-linter layers.
- `.env.example` holds every setting of `config.Settings`, each with a comment, and nothing else.
  The rule: a variable (`NAME=value`, or `# NAME=value` for one left unset) has a `#` comment line
  directly above it; variables written one after another, with no other line between them, may
  share the comment above the first of them if that comment names each of the others.
"""

import re
import tomllib
from pathlib import Path

from config import Settings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
GUIDE_INDEX = ROOT / "FRONTEND_INTEGRATION_GUIDE.md"
DOCS = ROOT / "docs"
MAX_README_LINES = 200

VARIABLE = re.compile(r"^(?:# ?)?([A-Z][A-Z0-9_]*)=")
LINK = re.compile(r"\]\(([^)\s]+)\)")
SH_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)
MERMAID_BLOCK = re.compile(r"```mermaid\n(.*?)```", re.S)


def _documents() -> list[Path]:
    return [README, GUIDE_INDEX, *sorted(DOCS.rglob("*.md"))]


def _local_links(document: Path) -> list[str]:
    targets = (target.split("#", 1)[0] for target in LINK.findall(document.read_text()))
    return [t for t in targets if t and not re.match(r"^[a-z]+:", t)]


def test_the_readme_is_at_most_200_lines() -> None:
    lines = len(README.read_text().splitlines())
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move the detail to docs/"


def test_every_relative_link_in_the_docs_leads_to_a_file() -> None:
    broken = [
        f"{document.relative_to(ROOT)} -> {target}"
        for document in _documents()
        for target in _local_links(document)
        if not (document.parent / target).exists()
    ]
    assert broken == []


def test_the_readme_links_every_document_in_docs() -> None:
    linked = {(README.parent / target).resolve() for target in _local_links(README)}
    expected = [*sorted(DOCS.glob("*.md")), GUIDE_INDEX]
    missing = [str(path.relative_to(ROOT)) for path in expected if path.resolve() not in linked]
    assert missing == []


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    run, test = SH_BLOCK.findall(README.read_text())[:2]
    assert "uvicorn main:app" in run
    assert "-m pytest" in test
    assert test.strip() in (ROOT / ".ci" / "run").read_text()


def test_the_architecture_picture_names_every_layer_module() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [layers] = [
        contract["layers"]
        for contract in pyproject["tool"]["importlinter"]["contracts"]
        if contract["type"] == "layers"
    ]
    modules = [name.strip() for layer in layers for name in layer.split("|")]
    pictures = "\n".join(MERMAID_BLOCK.findall((DOCS / "architecture.md").read_text()))
    assert [m for m in modules if not re.search(rf"\b{m}\b", pictures)] == []


def _env_example() -> dict[str, bool]:
    """Each variable of .env.example -> whether it is documented by the rule above."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    found: dict[str, bool] = {}
    for index, line in enumerate(lines):
        match = VARIABLE.match(line)
        if not match:
            continue
        first = index
        while first > 0 and VARIABLE.match(lines[first - 1]):
            first -= 1
        comment: list[str] = []
        above = first - 1
        while above >= 0 and lines[above].startswith("#") and not VARIABLE.match(lines[above]):
            comment.insert(0, lines[above])
            above -= 1
        name = match.group(1)
        named = re.search(rf"\b{name}\b", "\n".join(comment)) is not None
        found[name] = bool(comment) and (first == index or named)
    return found


def test_every_setting_is_in_env_example_with_a_comment() -> None:
    documented = _env_example()
    missing = [name for name in Settings.model_fields if name not in documented]
    assert missing == [], "add these to .env.example, each with a comment"
    uncommented = [name for name, ok in documented.items() if not ok]
    assert uncommented == [], "give these a comment of their own, or name them in their block's"


def test_env_example_holds_only_settings() -> None:
    assert [name for name in _env_example() if name not in Settings.model_fields] == []
