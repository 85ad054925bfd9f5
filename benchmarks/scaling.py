"""Training time against the number of seeds, the width and the input dimension.

Run by bench.py in a child process, because the host device count must be set before jax
is imported. Each case is benchmarks/reference.wall with `--set` overrides, planned by
`build_plans` and trained by `CompiledProgram`, the code path `wallc` uses. Prints one JSON
record per case.

    python benchmarks/scaling.py --steps 500 --peak-gflops 200 --cache DIR
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from wall.runtime.devices import configure_host_devices, enable_compilation_cache, usable_cores

SPEC = Path(__file__).with_name("reference.wall")
CASES = (
    [("seeds", seeds, {"sweep.grid.seed": f"0..{seeds - 1}"}) for seeds in (1, 8, 32, 128)]
    + [("width", width, {"model.width": str(width)}) for width in (128, 256, 512, 1024)]
    + [("d", d, {"sweep.grid.d": f"[{d}]"}) for d in (15, 30, 60, 120)]
)


def measure_case(overrides: dict[str, str], steps: int, peak_gflops: float) -> dict:
    from wall.compiler.estimate import estimate_program
    from wall.compiler.plan import build_plans
    from wall.runtime.program import CompiledProgram
    from wall.runtime.timings import compile_seconds

    from wall.runtime.devices import host_cpu_devices, split_for_cpu

    settings = [f"{path}={value}" for path, value in {**overrides, "train.steps": str(steps)}.items()]
    program = build_plans(SPEC, settings)[0].programs[0]
    # As `wallc` does: a program too large for the CPU caches trains as several.
    devices = host_cpu_devices()
    parts = split_for_cpu(program, devices) if devices else [program]

    compiled_before = compile_seconds()
    started = time.perf_counter()
    for part in parts:
        CompiledProgram(part).run()
    wall_s = time.perf_counter() - started
    compile_s = compile_seconds() - compiled_before

    # The estimate counts the FLOPs of training and of the logged test evaluations.
    estimate = estimate_program(program, peak_gflops, devices or 1, usable_cores())
    return {"runs": len(program.runs), "train_s": wall_s - compile_s, "compile_s": compile_s,
            "flops": estimate.flops, "estimated_s": estimate.train_s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500, help="SGD steps per run in every case")
    parser.add_argument("--peak-gflops", type=float, required=True, help="measured matmul peak, for the estimate")
    parser.add_argument("--cache", help="persistent compilation cache folder")
    parser.add_argument("--devices", type=int, help="CPU host devices (default: the usable cores)")
    args = parser.parse_args()

    configure_host_devices(args.devices)
    enable_compilation_cache(args.cache)
    from wall.runtime.timings import listen_to_compiles

    listen_to_compiles()
    for axis, value, overrides in CASES:
        record = {"axis": axis, "value": value, **measure_case(overrides, args.steps, args.peak_gflops)}
        print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
