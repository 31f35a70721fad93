"""Every module imports on its own, first. A circular import shows only when a module is the first of its
cycle to be imported — `xijin knowledge load` hit one that the test suite's import order hid — so each
module is imported with none of ours loaded before it (third-party packages stay loaded: they cannot be part
of a cycle of ours). It runs in a subprocess, to leave this process's modules alone."""

from __future__ import annotations

import subprocess
import sys

from community.settings import PROJECT_ROOT

CHECK = r"""
import importlib, pathlib, sys, traceback
ours = ("bot", "actions", "community", "web")
root = pathlib.Path(sys.argv[1])
modules = sorted(
    ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
    for part in ours
    for path in (root / part).rglob("*.py")
    if "migrations" not in path.parts and path.name != "__main__.py"
)
failed = []
for name in modules:
    for loaded in [m for m in sys.modules if m.split(".")[0] in ours]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ":\n" + traceback.format_exc(limit=-3))
print(len(modules))
print("\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_module_imports_first_without_a_cycle() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK, str(PROJECT_ROOT)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert int(result.stdout.split()[0]) > 100  # the modules were found
