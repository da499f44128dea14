"""The functions as `make build` packages them, one module set per execution environment.

Each execution environment imports the handler from `build/functions/<package>.zip`
(zipimport) into modules of its own, exactly as a fresh Lambda sandbox does: module
globals (the router's cached `Router`, the flag cache, the boto3 client cache, the
candidate's database connection) belong to that environment only. While an environment
runs, its modules are the ones `sys.modules` holds, so the functions' own lazy imports
resolve inside the environment. Their time sources are pointed at the virtual clock
(cutover.rehearsal.clock), and `os.environ` holds the function's rendered environment during
init (the settings are read then).
"""

from __future__ import annotations

import importlib
import os
import sys
import zipfile
import zipimport
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .clock import VirtualClock, patch_time_sources

HANDLERS = {"router": "router.handler", "candidate": "candidate.handler"}


class PackageMissing(RuntimeError):
    """`make build` has not been run (exit code 2 from the CLI)."""


def package_path(build_dir: Path, package: str) -> Path:
    path = build_dir / "functions" / f"{package}.zip"
    if not path.is_file():
        raise PackageMissing(f"{path} is missing: run `make build` first")
    return path


def _top_level(zip_path: Path) -> set[str]:
    with zipfile.ZipFile(zip_path) as zf:
        return {name.split("/", 1)[0] for name in zf.namelist() if "/" in name}


@contextmanager
def environ(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(saved)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class _CompiledOnce(zipimport.zipimporter):
    """zipimport that compiles each module of a package once per process. Every execution
    environment still executes the code into modules of its own (a code object is
    immutable: what an environment keeps lives in its module's globals); only the
    compilation, most of a real cold start's cost and none of its simulated one, is shared."""

    def get_code(self, fullname: str) -> Any:
        key = (self.archive, fullname)
        code = _CODE.get(key)
        if code is None:
            code = _CODE[key] = super().get_code(fullname)
        return code


_CODE: dict[tuple[str, str], Any] = {}
_ARCHIVES: dict[str, tuple[int, int]] = {}  # zip path -> (mtime_ns, size) its code came from


def _compiled_once_hook(path: str) -> _CompiledOnce:
    archive = next((a for a in _ARCHIVES if path == a or path.startswith(a + os.sep)), None)
    if archive is None:
        raise ImportError("not a function package")  # the next path hook (zipimport) decides
    return _CompiledOnce(path)


def _compile_once(zip_path: Path) -> None:
    """Imports from ``zip_path`` reuse code compiled before, while the file is unchanged."""
    archive, stat = str(zip_path), zip_path.stat()
    version = (stat.st_mtime_ns, stat.st_size)
    if _ARCHIVES.get(archive) == version:
        return
    _ARCHIVES[archive] = version
    for key in [k for k in _CODE if k[0] == archive]:
        del _CODE[key]
    for path in [p for p in sys.path_importer_cache if p == archive or p.startswith(archive + os.sep)]:
        del sys.path_importer_cache[path]
    getattr(zipimport, "_zip_directory_cache", {}).pop(archive, None)  # a rebuilt zip is read again
    if _compiled_once_hook not in sys.path_hooks:
        sys.path_hooks.insert(0, _compiled_once_hook)


class ModuleSet:
    """The modules of one execution environment, swapped into sys.modules while it runs."""

    def __init__(self, zip_path: Path, handler_module: str, clock: VirtualClock) -> None:
        self.tops = _top_level(zip_path)
        _compile_once(zip_path)
        saved = self._take_out()
        sys.path.insert(0, str(zip_path))
        try:
            self.handler = importlib.import_module(handler_module)
            # what the handler imports on first use belongs to the environment too
            for name in getattr(self.handler, "FIRST_USE_MODULES", ()):
                importlib.import_module(name)
        finally:
            sys.path.remove(str(zip_path))
            self.modules = self._take_out()
            sys.modules.update(saved)
        names = sorted(self.modules)
        with self.active():
            patch_time_sources(names, clock)

    def _take_out(self) -> dict[str, Any]:
        taken = {}
        for name in list(sys.modules):
            if name.split(".", 1)[0] in self.tops:
                taken[name] = sys.modules.pop(name)
        return taken

    def active(self) -> _Active:
        """``with modules.active() as handler``: this environment's modules in sys.modules."""
        return _Active(self)

    def module(self, name: str) -> Any:
        return self.modules[name]


class _Active:
    """Swaps an environment's modules into sys.modules and back (on every invocation, so
    a plain class rather than a generator context manager)."""

    __slots__ = ("previous", "set")

    def __init__(self, modules: ModuleSet) -> None:
        self.set = modules

    def __enter__(self) -> Any:
        loaded = sys.modules
        own = self.set.modules
        self.previous = [(name, loaded.get(name)) for name in own]
        loaded.update(own)
        return self.set.handler

    def __exit__(self, *exc: object) -> None:
        loaded = sys.modules
        for name, module in self.previous:
            if module is None:
                loaded.pop(name, None)
            else:
                loaded[name] = module


def init_environment(modules: ModuleSet, environment: dict[str, str], init: str | None) -> Any:
    """Run the handler module's init (``router()`` / ``candidate()``) with its environment;
    a handler without one (``init`` None) builds what it needs at each invocation."""
    if init is None:
        return None
    with environ(environment), modules.active() as handler:
        handler.reset()
        return getattr(handler, init)()
