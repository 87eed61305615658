"""What a result was computed on: the machine, the device and the package versions.

Results are bit-identical for the same command on one machine and package set; another CPU
type or XLA build may round differently (README "Reproducibility"), so summary.json and the
artifact metadata record what would have to match.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata

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


def machine_record() -> dict:
    """{cpu, platform, python, device_kind, device_count, xla_flags, packages: {name: version}}."""
    import jax

    devices = jax.devices()
    return {
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
