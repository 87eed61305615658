"""What every command-line entry point shares: the compilation cache and error -> exit status.

Exit status: 0 done; 2 a problem with the input or the file system (one line says the fix);
3 training diverged (NaN/inf); 128 + N stopped by signal N after saving a checkpoint.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

from leo_teacher.config import ConfigError

DEFAULT_CACHE = Path.home() / ".cache" / "leo_teacher" / "jax"


def enable_compilation_cache(path: str | os.PathLike | None = None) -> None:
    """Turn on JAX's persistent compilation cache (JAX_COMPILATION_CACHE_DIR wins)."""
    import jax

    path = os.environ.get("JAX_COMPILATION_CACHE_DIR") or path or DEFAULT_CACHE
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def describe_os_error(e: OSError) -> str:
    """One line for a file-system failure: what failed on which path, and the fix."""
    import errno

    where = f" ({e.filename})" if e.filename else ""
    what = e.strerror or str(e) or type(e).__name__
    if isinstance(e, PermissionError):
        fix = "choose a path you can write to, or fix its permissions"
    elif e.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "free disk space (or choose a path on another disk) and run again"
    elif e.errno == errno.EROFS:
        fix = "choose a path on a writable file system"
    else:
        fix = "check the path and run again"
    return f"file system error{where}: {what}; {fix}"


def run_command(body: Callable[[], int]) -> int:
    """Run a CLI's ``body`` with the compilation cache on; turn known failures into exit statuses."""
    from leo_teacher.run.faults import Interrupted, TrainingDiverged

    try:
        enable_compilation_cache()
        return body()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # unwritable path, disk full, ...: the file system's problem, not a bug
        print(f"error: {describe_os_error(e)}", file=sys.stderr)
        return 2
    except TrainingDiverged as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    except Interrupted as e:
        print(str(e), file=sys.stderr)
        return e.exit_status
