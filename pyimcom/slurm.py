"""Helpers for the SLURM profile (``profiles/slurm``): settings read from the environment.

The profile is rendered with yte, and its ``?expr`` values call these functions, so the same profile
works on clusters with and without SLURM accounting and takes partition, account, limits and the
node size from ``PYIMCOM_SLURM_*`` environment variables (documented in README.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess

__all__ = ["ENV_PREFIX", "env", "env_int", "status_command"]

ENV_PREFIX = "PYIMCOM_SLURM_"


def env(name: str, default: str = "") -> str:
    """``$PYIMCOM_SLURM_<NAME>`` with surrounding blanks removed, or ``default`` when unset/empty."""
    value = os.environ.get(ENV_PREFIX + name, "").strip()
    return value or default


def env_int(name: str, default: int) -> int:
    """``$PYIMCOM_SLURM_<NAME>`` as a positive integer (``default`` when unset).

    Raises
    ------
    ValueError
        If the variable is set but is not a positive integer (the message names the variable).
    """
    text = env(name)
    if not text:
        return int(default)
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{ENV_PREFIX}{name} must be a positive integer; got {text!r}")
    return int(text)


def status_command() -> str:
    """``"sacct"`` when SLURM accounting answers, else ``"squeue"``.

    The SLURM executor plugin picks ``sacct`` whenever the binary exists; on a cluster without
    accounting storage ``sacct`` exits with an error, the plugin drops its jobs from the watch list
    and Snakemake waits forever.  ``squeue`` works everywhere but sees finished jobs only for the
    cluster's ``MinJobAge`` (default 300 s), which must exceed 3 × the plugin's
    ``slurm-init-seconds-before-status-checks``.  ``$PYIMCOM_SLURM_STATUS_COMMAND`` forces a choice.
    """
    forced = env("STATUS_COMMAND")
    if forced:
        if forced not in ("sacct", "squeue"):
            raise ValueError(f"{ENV_PREFIX}STATUS_COMMAND must be 'sacct' or 'squeue'; got {forced!r}")
        return forced
    if shutil.which("sacct") is None:
        return "squeue"
    try:
        cmd = ["sacct", "--noheader", "-X", "--starttime", "now"]
        probe = subprocess.run(cmd, capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return "squeue"
    return "sacct" if probe.returncode == 0 else "squeue"
