"""What both benchmark scripts share: fresh child processes, memory peaks, tables, machine info.

Every measurement runs in a child process of its own (the same script, called with
``--child``), so one side's memory peak, caches and garbage never leak into the other's. The
child prints one JSON line with its numbers; the parent collects them and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmark the checkout, not some installed copy
    sys.path.insert(0, str(ROOT))

_PROC_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int | None:
    try:
        for line in _PROC_STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak() -> bool:
    """Start a new resident-memory high-water mark (Linux: '5' into clear_refs resets VmHWM),
    so the peak reported afterwards belongs to the measured region, not to data generation.
    False where that is not possible; the peak is then the whole process's."""
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def rss_mib() -> float | None:
    kib = _status_kib("VmRSS")
    return kib / 1024 if kib is not None else None


def peak_mib() -> float | None:
    kib = _status_kib("VmHWM")
    if kib is None:
        import resource

        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / 1024


def emit(result: dict[str, Any]) -> None:
    """A child's answer: one JSON line on stdout (logs go to stderr)."""
    print(json.dumps(result, ensure_ascii=False), flush=True)


def run_child(script: Path, args: Sequence[str], *, timeout: float | None = None) -> dict[str, Any]:
    """Run ``script --child ...`` in a fresh interpreter and return the JSON it printed.
    A failing child raises with its stderr, so a broken side is never reported as a number."""
    cmd = [sys.executable, str(script), "--child", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd[1:])} failed (exit {proc.returncode}):\n{proc.stderr.strip()[-3000:]}")
    return json.loads(lines[-1])


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def versions(*packages: str) -> dict[str, str]:
    out = {}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def machine_info(*packages: str) -> str:
    """One line for the docs: cores, CPU, Python and the library versions that matter."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    libs = ", ".join(f"{k} {v}" for k, v in versions(*packages).items())
    return (f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()} on {platform.system()}, "
            f"{libs}")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (reads fine in a terminal too)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(_width(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, r in enumerate(cells):
        lines.append("| " + " | ".join(_pad(c, w) for c, w in zip(r, widths, strict=False)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _width(text: str) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def fmt_seconds(seconds: float) -> str:
    return f"{seconds:.2f}" if seconds < 100 else f"{seconds:.0f}"


def sizes_parser(doc: str | None, default_sizes: Sequence[int]) -> argparse.ArgumentParser:
    """The options every bench script shares: --sizes and --seed."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, default_sizes)),
                        help="rows per big tab, comma-separated (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    return parser
