"""Time profile of a training program, kernel by kernel.

    python benchmarks/profile.py [--devices N] [--set PATH=VALUE ...]

Trains benchmarks/reference.wall (with `--set` overrides) once to compile and warm up,
then again under the JAX profiler, and sums the time of every XLA kernel it ran. Each
kernel is put in a part of the step by the name scopes of `runtime/program.py` found in
its HLO metadata. The parts are drawing the batch (random numbers and target values), the
SGD step's matmuls, the rest of the SGD step (activations, their derivatives, updates) and
the logged test evaluation; with the fused CPU kernels of runtime/native.py, the step is
one kernel of its own. Times are exclusive: a loop's own time leaves out the kernels it
calls. The profiler slows small kernels down, so read the shares, not the absolute times.
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import re
import sys
import tempfile
from pathlib import Path

from wall.lang.diagnostics import counted
from wall.runtime.devices import configure_host_devices

SPEC = Path(__file__).with_name("reference.wall")
INSTRUCTION = re.compile(r'^\s*(?:ROOT )?%([\w.\-]+) = (.*?)op_name="([^"]*)"', re.MULTILINE)
COMPUTATION = re.compile(r"^%([\w.\-]+) \(.*?^}", re.MULTILINE | re.DOTALL)
CALLS = re.compile(r"calls=%([\w.\-]+)")
PARTS = ("drawing the batch", "SGD step: fused CPU kernel", "SGD step: matmuls", "SGD step: other kernels",
         "test evaluation", "loops and copies")


def part_of(op_name: str, is_matmul: bool, is_fused_step: bool) -> str:
    if "test_loss" in op_name:
        return "test evaluation"
    if "draw_batch" in op_name:
        return "drawing the batch"
    if is_fused_step:
        return "SGD step: fused CPU kernel"
    if is_matmul:
        return "SGD step: matmuls"
    if "/while/body/" in op_name:
        return "SGD step: other kernels"
    return "loops and copies"


def kernel_parts(dump: Path) -> dict[str, str]:
    """Map each kernel (HLO instruction) of the training chunk to its part of the step."""
    texts = sorted(dump.glob("*_chunk_all_runs*after_optimizations.txt"), key=lambda path: path.stat().st_size)
    if not texts:
        sys.exit(f"no optimised HLO of the training chunk in {dump}; was the program loaded from a cache?")
    text = texts[-1].read_text()
    # A kernel is a matmul if it is a dot or a fusion (e.g. a library call) around one.
    with_dot = {match.group(1) for match in COMPUTATION.finditer(text) if " dot(" in match.group(0)}
    parts = {}
    for name, body, op_name in INSTRUCTION.findall(text):
        called = CALLS.search(body)
        is_matmul = " dot(" in f" {body}" or (called is not None and called.group(1) in with_dot)
        parts[name] = part_of(op_name, is_matmul, "wall_mlp2_sgd_step" in body)
    return parts


def exclusive_times(trace_folder: Path) -> collections.Counter:
    """Microseconds spent in each traced event, less the time of events nested in it."""
    path = sorted(glob.glob(str(trace_folder / "**" / "*.json.gz"), recursive=True), key=os.path.getmtime)[-1]
    events = json.load(gzip.open(path))
    events = events["traceEvents"] if isinstance(events, dict) else events
    by_thread = collections.defaultdict(list)
    for event in events:
        if event.get("ph") == "X":
            by_thread[(event["pid"], event["tid"])].append(event)

    totals = collections.Counter()
    for thread_events in by_thread.values():
        thread_events.sort(key=lambda event: (event["ts"], -event["dur"]))
        open_events: list[dict] = []
        for event in thread_events:
            while open_events and open_events[-1]["ts"] + open_events[-1]["dur"] <= event["ts"]:
                open_events.pop()
            if open_events:
                totals[open_events[-1]["name"]] -= event["dur"]
            totals[event["name"]] += event["dur"]
            open_events.append(event)
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description="Profile one training program of benchmarks/reference.wall.")
    parser.add_argument("--devices", type=int, help="CPU host devices (default: the usable cores)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                        help="override a spec field, as `wallc --set`")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="wall-profile-"))
    configure_host_devices(args.devices)
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_enable_xprof_traceme=true"
                               f" --xla_dump_to={work / 'hlo'} --xla_dump_hlo_as_text"
                               " --xla_dump_hlo_module_re=.*chunk_all_runs.*").strip()
    import jax

    from wall.compiler.plan import build_plans
    from wall.runtime.program import CompiledProgram

    program = CompiledProgram(build_plans(SPEC, args.overrides)[0].programs[0])
    program.run()  # compile and warm up; no persistent cache here, so the HLO is dumped
    jax.profiler.start_trace(str(work / "trace"), create_perfetto_trace=True)
    program.run()
    jax.profiler.stop_trace()

    parts = kernel_parts(work / "hlo")
    times = exclusive_times(work / "trace")
    shares = collections.Counter()
    for name, microseconds in times.items():
        if name in parts:
            shares[parts[name]] += microseconds
    total = sum(shares.values())
    print(f"{len(program.program.runs)} runs on {counted(len(program.devices), 'device')}; "
          "kernel time summed over devices")
    print("| part of the program | kernel time s | share |")
    print("|---|---|---|")
    for part in PARTS:
        print(f"| {part} | {shares[part] / 1e6:.2f} | {shares[part] / total:.0%} |")
    print("\nLargest kernels:")
    for name, microseconds in sorted(((n, t) for n, t in times.items() if n in parts), key=lambda x: -x[1])[:16]:
        print(f"  {name:32s} {microseconds / 1e6:6.2f} s  {parts[name]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
