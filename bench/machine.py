"""The machine a benchmark ran on, recorded beside its figures (CPU, cores, RAM, load)."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path


def machine() -> dict:
    """Cores, CPU model, RAM, Python, UTC date and the load average when the run started."""
    cpu = next((line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gb": round(mem_kb / 2**20, 1),
            "python": platform.python_version(),
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "load_avg_at_start": Path("/proc/loadavg").read_text().split()[:3]}
