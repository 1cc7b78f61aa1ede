"""What the benchmarks that run each configuration in a fresh subprocess share: the hidden
``--worker CFG`` option, ``--timeout`` and ``--out``."""

from __future__ import annotations

import argparse
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def add_common(ap: argparse.ArgumentParser, timeout: float = 900.0) -> None:
    """``--worker`` (hidden: a JSON configuration), ``--timeout`` (s per subprocess) and
    ``--out`` (the results folder, ``benchmarks/results`` by default)."""
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--timeout", type=float, default=timeout)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))


def ran_as_worker(args: argparse.Namespace, worker) -> bool:
    """Run ``worker(cfg)`` and print its JSON result when this process is a worker."""
    if not args.worker:
        return False
    print(json.dumps(worker(json.loads(args.worker))))
    return True


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; ``platform.processor()`` says only
    ``x86_64`` on Linux), and the core count."""
    import platform

    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            name = next(line.split(":", 1)[1].strip() for line in fh
                        if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{name}, {os.cpu_count()} cores"


def write_results(out: str, name: str, data: dict, markdown: list[str]) -> None:
    """``out/name.json`` (``data``) and ``out/name.md`` (the ``markdown`` lines)."""
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, f"{name}.json"), "w") as fh:
        json.dump(data, fh, indent=1)
    with open(os.path.join(out, f"{name}.md"), "w") as fh:
        fh.write("\n".join(markdown) + "\n")


def warm_compiled() -> None:
    """Compile (or load from disk) matroidopt's numba gains loops before anything is timed."""
    from matroidopt.utility import _fused

    _fused.warm_up()


#: The busy process of the "busy" load: one core spinning.
BUSY = "while True: pass"


def spawn_worker(script: str, cfg: dict, *, busy: bool = False, timeout: float) -> dict:
    """``script --worker CFG`` in a fresh subprocess (beside one busy process when ``busy``):
    its last line of output as JSON, or ``cfg`` with an ``"error"`` (the last lines of its
    stderr, or the time limit it ran past)."""
    import subprocess
    import sys
    import time

    spinner = subprocess.Popen([sys.executable, "-c", BUSY]) if busy else None
    try:
        time.sleep(0.3 if busy else 0)
        p = subprocess.run([sys.executable, os.path.abspath(script), "--worker",
                            json.dumps(cfg)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**cfg, "error": f"over the {timeout:.0f} s limit"}
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()
    if p.returncode != 0:
        return {**cfg, "error": p.stderr[-1500:]}
    return json.loads(p.stdout.strip().splitlines()[-1])
