"""The shape of the code, checked: who may import whom (README, "Architecture").

Every import in ``clamp3/`` counts, those inside functions too (a lazy import is still a
dependency): no cycle among the modules, no module importing one of a higher layer, nothing in
the package importing the app, and no SQL in the app. And what a fresh process imports: the package
and its readers start without torch and transformers, which the public names import on first use.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from support import HEAVY_MODULES, run_fresh

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "clamp3"

# Layers from the bottom; a module may import its own layer and those below. The first prefix
# that matches a module's name gives its layer.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("clamp3.errors", "clamp3.io", "clamp3.batch", "clamp3.retrieval", "clamp3.weights", "clamp3.memory")),
    ("formats", ("clamp3.formats", "clamp3.metadata", "clamp3.convert")),
    ("features", ("clamp3.features",)),
    ("models", ("clamp3.config", "clamp3.assets", "clamp3.models")),
    ("embedding", ("clamp3.preprocess", "clamp3.embedding", "clamp3.jobs", "clamp3.folders", "clamp3.zero_shot", "clamp3.preview")),
    ("library", ("clamp3.library", "clamp3.analysis", "clamp3.passages", "clamp3.clusters")),
    ("training", ("clamp3.training",)),
    ("cli", ("clamp3.cli",)),
]
PACKAGE_LAYER = len(LAYERS)  # clamp3/__init__.py, the public names: above everything, imported by nothing inside


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of its code, as absolute names."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return found


def graph() -> dict[str, set[str]]:
    """Module -> the modules it imports. Importing ``a.b.c`` runs ``a/b/__init__.py`` too, so a module
    also depends on the packages above what it imports (the top package, the public names, aside)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges = {}
    for name, path in modules.items():
        targets = set()
        for target in imports_of(path):
            parts = target.split(".")
            targets.update(".".join(parts[:n]) for n in range(2, len(parts) + 1))
        edges[name] = {m for m in targets if m in modules and m != name and not name.startswith(m + ".")}
    return edges


def layer_of(module: str) -> int:
    if module == "clamp3":
        return PACKAGE_LAYER
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    raise AssertionError(f"{module} is in no layer of tests/test_architecture.py: add it where it belongs")


def layer_name(module: str) -> str:
    rank = layer_of(module)
    return "package" if rank == PACKAGE_LAYER else LAYERS[rank][0]


def test_no_import_cycles():
    edges = graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_modules_import_only_their_layer_and_below():
    upward = [
        f"{module} ({layer_name(module)}) imports {target} ({layer_name(target)})"
        for module, targets in graph().items() for target in targets if layer_of(target) > layer_of(module)
    ]
    assert not upward, "\n".join(upward)


def test_readers_need_no_model_or_training_code():
    edges = graph()
    bad = [f"{m} imports {t}" for m, ts in edges.items() if m.startswith("clamp3.formats") for t in ts
           if t.startswith(("clamp3.models", "clamp3.training", "clamp3.embedding", "clamp3.preprocess"))]
    assert not bad, bad


def test_the_package_imports_neither_the_app_nor_the_cli():
    bad = []
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        for target in imports_of(path):
            if target.split(".")[0] in ("explorers", "app", "gradio", "tests", "support"):
                bad.append(f"{name} imports {target}")
            if target.startswith("clamp3.cli") and not name.startswith("clamp3.cli"):
                bad.append(f"{name} imports {target}")
    assert not bad, bad


SQL = re.compile(r"\.execute(many|script)?\(|\bsqlite3\b|\b(SELECT|INSERT|UPDATE|DELETE)\b[^\n]*\b(FROM|INTO|SET|WHERE)\b")


def test_no_sql_in_the_app():
    files = [ROOT / "app.py", *sorted((ROOT / "explorers").glob("*.py"))]
    found = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in files
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if SQL.search(line)]
    assert not found, "\n".join(found)


def test_the_checks_see_what_they_check(tmp_path):
    """The walker finds lazy and relative imports, and the SQL pattern matches what the app used to run."""
    sample = PACKAGE / "formats" / "abc.py"
    assert "clamp3.errors" in imports_of(sample)
    assert any(t.startswith("clamp3.") for t in imports_of(PACKAGE / "cli" / "__init__.py"))
    assert SQL.search('context.library.db.execute("SELECT j.key FROM items, json_each(items.metadata) AS j")')
    assert not SQL.search("select the rows from the table")


def test_the_package_readers_and_errors_import_without_torch():
    heavy, _ = run_fresh(
        "import json, sys, clamp3, clamp3.formats, clamp3.errors, clamp3.formats.isolated, clamp3.convert\n"
        "print(json.dumps([m for m in json.loads(sys.argv[1]) if m in sys.modules]))",
        json.dumps(HEAVY_MODULES),
    )
    assert heavy == []


def test_public_names_are_listed_at_once_and_imported_on_first_use():
    found, _ = run_fresh("""
import json, sys
import clamp3
heavy = lambda: [m for m in json.loads(sys.argv[1]) if m in sys.modules]
found = {"listed": sorted(set(clamp3.__all__) - set(dir(clamp3))), "heavy_before": heavy(), "version": clamp3.__version__}
from clamp3 import Embedder, Library, load_model
import clamp3.embedding, clamp3.library, clamp3.models
found["same"] = [Embedder is clamp3.embedding.Embedder, Library is clamp3.library.Library, load_model is clamp3.models.load_model]
found["resolved"] = sorted(name for name in clamp3.__all__ if not hasattr(clamp3, name))
found["heavy_after"] = heavy()
try:
    clamp3.no_such_name
except AttributeError as exc:
    found["unknown"] = str(exc)
print(json.dumps(found))
""", json.dumps(HEAVY_MODULES))
    assert found == {
        "listed": [], "heavy_before": [], "version": "0.1.0", "same": [True, True, True], "resolved": [],
        "heavy_after": ["torch"], "unknown": "module 'clamp3' has no attribute 'no_such_name'",
    }


# What transformers' BertModel would import: its modeling utilities pull these at module level
# (seconds of CPU); the towers are built by clamp3/models/bert.py instead.
MODEL_CODE = ("transformers.models.bert.modeling_bert", "transformers.models.xlm_roberta.modeling_xlm_roberta",
              "transformers.modeling_utils", "torch._dynamo", "torch.distributed.tensor", "scipy.optimize",
              # and torch's Python reference kernels, which an arange on the meta device ran (0.5-1 s of CPU)
              "torch.fx.experimental.symbolic_shapes", "sympy")


def test_loading_the_default_and_encoding_a_text_imports_no_model_code_of_transformers():
    found, _ = run_fresh("""
import json, sys
import clamp3
from clamp3.assets import EMBEDDED
model = clamp3.load_model(EMBEDDED)
vectors = clamp3.Embedder(model).encode_texts(["a lively Irish jig"])
print(json.dumps({"shape": list(vectors.shape), "imported": [m for m in json.loads(sys.argv[1]) if m in sys.modules]}))
""", json.dumps(MODEL_CODE))
    assert found["imported"] == [] and found["shape"][0] == 1


def test_loading_the_default_and_encoding_music_or_a_text_imports_no_transformers():
    """transformers' package costs about a second of CPU to import: the towers' configs are read
    without it, the tokenizer (loaded when the first text comes) too. The first load after an
    install, which writes the packaged text tower's files and the tokenizer's copy, does import it."""
    code = """
import json, sys
import clamp3
from clamp3.assets import EMBEDDED
embedder = clamp3.Embedder(clamp3.load_model(EMBEDDED))
[result] = embedder.encode_files([sys.argv[1]], progress=False)
found = {"music": list(result.embedding.shape), "after music": "transformers" in sys.modules}
found["text"] = list(embedder.encode_texts(["ein Wiegenlied"]).shape)
print(json.dumps({**found, "after a text": "transformers" in sys.modules}))
"""
    score = str(ROOT / "tests" / "data" / "scores" / "bwv277.krn")
    run_fresh(code, score)  # the first load after an install
    found, _ = run_fresh(code, score)
    assert found == {"music": [1, 384], "after music": False, "text": [1, 384], "after a text": False}


def test_the_readers_forkserver_holds_no_torch():
    """The forkserver that reads the app's uploads preloads the readers, not the model's libraries."""
    maps, _ = run_fresh(
        "import json, sys\n"
        "from multiprocessing import forkserver\n"
        "from pathlib import Path\n"
        "from clamp3.formats.isolated import ReadLimits, read_isolated\n"
        "items, errors = read_isolated(Path(sys.argv[1]), ReadLimits(seconds=120))  # a child: the server has preloaded\n"
        "assert items and not errors, errors\n"
        "pid = forkserver._forkserver._forkserver_pid  # the server process (private, the same since 3.4)\n"
        "print(json.dumps(open(f'/proc/{pid}/maps').read()))",
        str(ROOT / "tests" / "data" / "scores" / "essen_book.abc"),
    )
    assert "soxr" in maps  # a preloaded reader's library: these are the server's maps, after its preload
    assert "/torch/" not in maps and "libtorch" not in maps
