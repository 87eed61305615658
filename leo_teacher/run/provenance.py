"""What a result was computed on: the code, the machine, the device and the package versions.

Results are bit-identical for the same command on one machine and package set; another CPU
type or XLA build may round differently (README "Reproducibility"), so summary.json and the
artifact metadata record what would have to match.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "craftax", "brax", "numpy")


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux, else the platform's processor)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


# The files a run executes (configs and students by name): what "code_dirty" looks at.
CODE_PATHS = ("leo_teacher", "configs", "students")


def unknown_code_record(version: str | None) -> dict:
    """A code record that knows only the version (no checkout, or a checkpoint from before the
    commit was kept): the shape :func:`code_record` fills in."""
    return {"version": version, "commit": None, "dirty": None, "code_dirty": None, "code_diff_sha256": None}


def code_record(package_dir: Path | None = None) -> dict:
    """{version, commit, dirty, code_dirty, code_diff_sha256}: leo-teacher's version and, when the
    package (``package_dir``, default this one) sits at the top of a git checkout (an editable
    install, a clone), the commit, whether any tracked file differs from it (``dirty``), whether
    the code a run executes does (``code_dirty``: tracked files under :data:`CODE_PATHS`; a docs
    edit leaves it False) and, when it does, the SHA-256 of that diff (``git diff HEAD``), so the
    uncommitted code can later be matched to a commit or a patch. All but version are None
    otherwise, e.g. for an install inside a user's own repository, whose commit says nothing
    about this code."""
    package_dir = Path(__file__).resolve().parents[1] if package_dir is None else Path(package_dir).resolve()
    top = _git(package_dir, "rev-parse", "--show-toplevel")
    record = unknown_code_record(_version("leo-teacher"))
    if not (top and Path(top).resolve() == package_dir.parent):
        return record
    record["commit"] = _git(package_dir, "rev-parse", "HEAD")
    status = _git(package_dir, "status", "--porcelain", "--untracked-files=no")
    record["dirty"] = None if status is None else bool(status)
    diff = _git(package_dir.parent, "diff", "HEAD", "--", *CODE_PATHS)
    if diff is not None:
        record["code_dirty"] = bool(diff)
        record["code_diff_sha256"] = hashlib.sha256(diff.encode()).hexdigest() if diff else None
    return record


def machine_record(code: dict | None = None) -> dict:
    """{code, cpu, platform, python, device_kind, device_count, xla_flags, packages: {name: version}}:
    ``code`` is :func:`code_record` (the commit a result was computed with), taken now unless
    given (a trainer passes the record it took when it started, before any later commit)."""
    import jax

    devices = jax.devices()
    return {
        "code": code_record() if code is None else code,
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "backend": jax.default_backend(),
        "device_kind": devices[0].device_kind if devices else None,
        "device_count": len(devices),
        "process_count": jax.process_count(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "packages": {name: _version(name) for name in PACKAGES},
    }
