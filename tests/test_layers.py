"""The package's layer contract (docs/architecture.md): nothing imports upward, nothing forms a cycle.

Every module under ``src/attnwav2lip`` is parsed with ``ast``; every import counts, at module level
or inside a function, under ``TYPE_CHECKING`` or not, since a lazy import is still a dependency.
A unit is a top-level module or package of ``attnwav2lip``; each sits in one tier, and a unit
may import only units of lower tiers, or of its own tier where the imports between them stay
acyclic.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "attnwav2lip"

#: bottom to top; keep in step with the table in docs/architecture.md
TIERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("foundation", frozenset({"attnwav2lip", "errors", "_lazy", "fileio", "config", "precision", "devices",
                              "progress", "eval_mode", "integrity", "outputs", "native_stderr"})),
    ("media", frozenset({"video", "audio", "looping"})),
    ("networks", frozenset({"models", "checkpoints", "builtin"})),
    ("faces", frozenset({"faces"})),
    ("synthtalk", frozenset({"synth"})),
    ("scorers", frozenset({"metrics"})),
    ("data", frozenset({"data"})),
    ("jobs", frozenset({"lipsync", "train", "export", "viz"})),
    ("protocols", frozenset({"evaluation", "demo", "serve"})),
    ("interface", frozenset({"cli", "__main__"})),
)
TIER_OF = {unit: level for level, (_, units) in enumerate(TIERS) for unit in units}
#: third-party modules worth importing inside functions: slow to import (``python -X importtime``
#: here: yaml 0.1 s, tqdm 0.4 s, python_speech_features 1.2 s, matplotlib 2 s, scipy.signal 3.7 s;
#: torch, cv2, av more) or optional extras that may be missing (mediapipe, onnx*, espeakng_loader)
HEAVY = frozenset({"torch", "torch.utils.tensorboard", "cv2", "av", "mediapipe", "scipy", "onnx", "onnxruntime",
                   "onnxscript", "tqdm", "safetensors.torch", "python_speech_features", "espeakng_loader",
                   "matplotlib", "yaml"})


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The project modules ``node`` imports (a name imported from a package counts as its submodule when it is one)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "attnwav2lip"]
    if node.level:
        package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
        base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    if base.split(".")[0] != "attnwav2lip":
        return []
    submodules = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
    return submodules if len(submodules) == len(node.names) else [base, *submodules]


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges[module].update(t for t in imported(module, node) if t != module)
    return edges


def unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``edges`` (as a path that returns to its start), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_every_unit_has_a_tier() -> None:
    assert sorted({unit(m) for m in MODULES} - set(TIER_OF)) == []
    assert sorted(set(TIER_OF) - {unit(m) for m in MODULES}) == []


def test_every_import_names_a_module() -> None:
    """A project import that names no module (a moved one) fails here, not at run time in a rare branch."""
    missing = sorted(f"{a} -> {b}" for a, targets in graph().items() for b in targets if b not in MODULES)
    assert not missing, "\n".join(missing)


def test_nothing_imports_upward() -> None:
    upward = sorted(f"{a} -> {b} ({TIERS[TIER_OF[unit(a)]][0]} -> {TIERS[TIER_OF[unit(b)]][0]})"
                    for a, targets in graph().items() for b in targets
                    if b in MODULES and TIER_OF[unit(b)] > TIER_OF[unit(a)])
    assert not upward, "\n".join(upward)


def test_no_cycle_between_units() -> None:
    units: dict[str, set[str]] = defaultdict(set)
    for a, targets in graph().items():
        units[unit(a)].update(unit(b) for b in targets if unit(b) != unit(a))
    assert find_cycle(units) is None


def test_no_cycle_between_modules() -> None:
    edges = graph()
    # a package's __init__ re-exports its modules; a module importing its own package's __init__ is the cycle
    assert find_cycle(edges) is None


def _module_level_imports(module: str) -> tuple[set[str], set[str]]:
    """(project modules, top-level third-party names) that importing ``module`` runs at once.

    ``TYPE_CHECKING`` blocks do not run; importing a submodule runs its packages' ``__init__`` first.
    """
    project: set[str] = set()
    third: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                targets = imported(module, node)
                project.update(targets)
                if targets and isinstance(node, ast.ImportFrom) and MODULES[targets[0]].name == "__init__.py":
                    lazy = _lazy_names(targets[0])  # a lazily exported name imports its module now
                    project.update(lazy[a.name] for a in node.names if a.name in lazy)
                if not targets and isinstance(node, ast.Import):
                    third.update(a.name.split(".")[0] for a in node.names)
                elif not targets and not node.level:
                    third.add((node.module or "").split(".")[0])
            elif isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)

    visit(ast.parse(MODULES[module].read_text(encoding="utf-8")).body)
    for name in [module, *project]:
        parts = name.split(".")
        project.update(".".join(parts[:k]) for k in range(1, len(parts)) if ".".join(parts[:k]) in MODULES)
    project.discard(module)
    return project, third


def _lazy_names(package: str) -> dict[str, str]:
    """Names a package resolves on first use (``_lazy.lazy_exports``) -> the module that defines each."""
    tree = ast.parse(MODULES[package].read_text(encoding="utf-8"))
    return {k.value: v.value for node in ast.walk(tree) if isinstance(node, ast.Dict)
            for k, v in zip(node.keys, node.values)
            if isinstance(k, ast.Constant) and isinstance(v, ast.Constant) and str(v.value).startswith("attnwav2lip.")}


def heavy_libraries() -> dict[str, frozenset[str]]:
    """Per project module: the heavy third-party modules its import loads (directly or through others)."""
    direct = {m: _module_level_imports(m) for m in MODULES}
    loads = {m: set(third & HEAVY) for m, (_, third) in direct.items()}
    changed = True
    while changed:
        changed = False
        for m, (project, _) in direct.items():
            more = set().union(*(loads[t] for t in project if t in loads)) - loads[m]
            if more:
                loads[m] |= more
                changed = True
    return {m: frozenset(libs) for m, libs in loads.items()}


LOADS = heavy_libraries()


def _lazy_import_is_needed(module: str, node: ast.Import | ast.ImportFrom) -> bool:
    """An import inside a function saves start-up time: it loads a heavy third-party module (itself,
    or through a project module or a lazily exported name) that importing ``module`` does not load."""
    targets = imported(module, node)
    if not targets:
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        return all(n in HEAVY - LOADS[module] or n.split(".")[0] in HEAVY - LOADS[module] for n in names)
    if isinstance(node, ast.ImportFrom):
        lazy = _lazy_names(targets[0]) if MODULES[targets[0]].name == "__init__.py" else {}
        targets = targets + [lazy[a.name] for a in node.names if a.name in lazy]
    return any(LOADS[t] - LOADS[module] for t in targets if t in LOADS)


#: imported by ``import attnwav2lip`` or ``attnwav2lip --help`` (every command module), or documented as light
LIGHT = ("attnwav2lip", "attnwav2lip.cli", "attnwav2lip.faces", "attnwav2lip.synth", "attnwav2lip.data",
         "attnwav2lip.metrics", "attnwav2lip.lipsync", "attnwav2lip.lipsync.options", "attnwav2lip.export")


@pytest.mark.parametrize("module", [m for m in sorted(MODULES) if m in LIGHT or m.startswith("attnwav2lip.cli.")])
def test_start_up_stays_light(module: str) -> None:
    assert LOADS[module] == frozenset()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_lazy_imports_save_start_up_time(module: str) -> None:
    """Imports inside functions are there for start-up time only (``import attnwav2lip`` and
    ``attnwav2lip --help`` load no torch or media library): anything else is imported at the top,
    where it shows the module's dependencies."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    needless = [f"line {node.lineno}: {ast.unparse(node)}"
                for func in ast.walk(tree) if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef))
                for node in ast.walk(func) if isinstance(node, (ast.Import, ast.ImportFrom))
                and not _lazy_import_is_needed(module, node)]
    assert not needless, "\n".join(needless)


def test_one_name_for_each_thing() -> None:
    """No two modules define a top-level function or class of the same name (a command module's
    ``register`` and ``run`` are the CLI's protocol, the same job in each)."""
    where: dict[str, list[str]] = defaultdict(list)
    for module, path in MODULES.items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not (
                    module.startswith("attnwav2lip.cli.") and node.name in ("register", "run")):
                where[node.name].append(module)
    shared = sorted(f"{name}: {', '.join(modules)}" for name, modules in where.items() if len(modules) > 1)
    assert not shared, "\n".join(shared)


def test_no_test_module_imports_another_or_loads_code_by_path() -> None:
    """Shared helpers live in conftest.py or helper modules (tests/training_runs.py); library code in the package."""
    offenders = []
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name} imports {name}" for name in names if name.split(".")[0].startswith("test_")]
        if "spec_from_file_location" in text and path.name != Path(__file__).name:
            offenders.append(f"{path.name} loads a module by file path")
    assert not offenders, offenders
