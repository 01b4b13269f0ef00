"""Draw the house's import structure from the code: `python docs/import_graph.py` rewrites the Mermaid picture
in docs/architecture.md; `--check` exits 1 when the picture no longer matches the code (the test suite runs it).

Modules are grouped per app; each AI app is drawn as its read side, its write side (the modules the "web
side" import contract in pyproject.toml forbids: one list, so the picture and the contract cannot disagree)
and its jobs (Celery tasks, signal receivers and management commands, which queue or run the write side).
An arrow A → B means some module of A imports some module of B.
"""

import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "docs" / "architecture.md"
START, END = "<!-- import-graph:start -->", "<!-- import-graph:end -->"
WEB_SIDE_CONTRACT = "web-side-never-loads-the-write-side"
JOB_MODULES = ("tasks", "receivers", "management")  # what queues or runs the write side: drawn apart
LAYERS = [("vitrine", ["vitrine"]), ("demo", ["demo"]), ("pages", ["home", "blocks"]), ("ai", ["ai"]),
          ("commerce", ["commerce"]), ("core", ["core"])]


def configuration() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]


def write_side_modules(config: dict) -> list[str]:
    [contract] = [c for c in config["contracts"] if c["id"] == WEB_SIDE_CONTRACT]
    return [module for module in contract["forbidden_modules"] if module.startswith("ai.")]


def group_of(module: str, write_side: list[str]) -> str:
    parts = module.split(".")
    if parts[0] == "commerce" and len(parts) > 1:
        return ".".join(parts[:2])
    if parts[0] == "ai" and len(parts) > 1:
        if parts[1] in ("common", "embeddings", "embedding_export", "dashboard"):
            return ".".join(parts[:2])
        if any(module == w or module.startswith(w + ".") for w in write_side):
            return f"ai.{parts[1]} · write"
        if len(parts) > 2 and parts[2] in JOB_MODULES:
            return f"ai.{parts[1]} · jobs"
        return f"ai.{parts[1]} · read"
    return parts[0]


def group_edges(root_packages: list[str], write_side: list[str]) -> set[tuple[str, str]]:
    graph = grimp.build_graph(*root_packages)
    edges = set()
    for importer in graph.modules:
        if importer.endswith(".apps"):  # AppConfig.ready() connecting receivers: wiring, not a dependency
            continue
        for imported in graph.find_modules_directly_imported_by(importer):
            source, target = group_of(importer, write_side), group_of(imported, write_side)
            if source != target:
                edges.add((source, target))
    return edges


def node_id(group: str) -> str:
    return group.replace(" · ", "_").replace(".", "_")


def mermaid(edges: set[tuple[str, str]]) -> str:
    groups = sorted({group for edge in edges for group in edge})
    lines = ["```mermaid", "flowchart TD"]
    for layer, packages in LAYERS:
        members = [g for g in groups if g.split(".")[0].split(" ")[0] in packages]
        if members:
            lines.append(f"  subgraph {layer}")
            lines += [f'    {node_id(g)}["{g}"]' for g in members]
            lines.append("  end")
    lines += [f"  {node_id(a)} --> {node_id(b)}" for a, b in sorted(edges)]
    lines.append("```")
    return "\n".join(lines)


def render() -> str:
    config = configuration()
    picture = mermaid(group_edges(config["root_packages"], write_side_modules(config)))
    text = DOCUMENT.read_text(encoding="utf-8")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{picture}\n{END}{after}"


if __name__ == "__main__":
    updated = render()
    if "--check" in sys.argv[1:]:
        if updated != DOCUMENT.read_text(encoding="utf-8"):
            sys.exit("docs/architecture.md's import picture is out of date: run `make docs`")
    else:
        DOCUMENT.write_text(updated, encoding="utf-8")
