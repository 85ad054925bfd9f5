"""Job parameters: the spec's `resources` block over the user's cluster profile.

The profile is a TOML file (`$WALL_PROFILE`, default `~/.config/wall/profile.toml`) with
the settings a user shares between specs:

    executor = "slurm"
    [resources]
    partition = "gpu"
    account = "theory"
    time = "2h"

A field set in the spec wins over the profile. Unknown names are errors with a suggestion.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pydantic

from wall.compiler.configure import validate_block
from wall.compiler.plan import Plan
from wall.compiler.scopes import experiment_scope
from wall.lang.diagnostics import SpecError, WallError, did_you_mean
from wall.lang.schema import ResourcesConfig
from wall.lang.values import DURATION_UNITS, MEMORY_UNITS, Quantity

PROFILE_KEYS = ("executor", "resources")
QUANTITY = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?)\s*([A-Za-z]+)\s*$")


def profile_path() -> Path:
    return Path(os.environ.get("WALL_PROFILE", Path.home() / ".config" / "wall" / "profile.toml"))


def load_profile(path: Path | None = None) -> dict:
    """Read the profile's settings into a dict, {} when there is no profile file."""
    path = profile_path() if path is None else Path(path)
    if not path.exists():
        return {}
    try:
        profile = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise WallError(f"{path}: not valid TOML: {exc}") from None
    for key in profile:
        if key not in PROFILE_KEYS:
            raise WallError(_unknown(path, key, PROFILE_KEYS, "a profile contains"))
    resources = profile.get("resources", {})
    for key in resources:
        if key not in ResourcesConfig.model_fields:
            raise WallError(_unknown(path, f"resources.{key}", ResourcesConfig.model_fields, "[resources] accepts",
                                     name=key))
    return {"path": path, "executor": profile.get("executor"),
            "resources": {k: _profile_value(path, k, v) for k, v in resources.items()}}


def _unknown(path, key, choices, intro, name=None) -> str:
    hint = did_you_mean(name or key, choices)
    return f"{path}: unknown setting `{key}`" + (f"; {hint}" if hint else "") + f" ({intro}: {', '.join(choices)})"


def _profile_value(path: Path, key: str, value):
    # Durations and memory sizes are written as strings in TOML: "30min", "16GB".
    if key in ("time", "mem") and isinstance(value, str):
        match = QUANTITY.match(value)
        units = DURATION_UNITS if key == "time" else MEMORY_UNITS
        if match is None or match.group(2) not in units:
            raise WallError(f"{path}: resources.{key} = {value!r} is not a quantity such as "
                            f"{'30min' if key == 'time' else '16GB'} (units: {', '.join(units)})")
        return Quantity(float(match.group(1)), match.group(2))
    return value


def resolve_resources(plan: Plan, profile: dict | None = None) -> ResourcesConfig:
    """Resolve the job parameters of a plan: spec fields over profile fields over defaults."""
    profile = load_profile() if profile is None else profile
    fields = dict(profile.get("resources", {}))
    block = plan.spec.blocks.get("resources")
    if block is not None:
        fields.update(_spec_fields(plan, block))
    try:
        return ResourcesConfig.model_validate(fields)
    except pydantic.ValidationError as exc:
        where = profile.get("path", "the profile")
        raise WallError(f"invalid resources from {where}: {exc}") from None


def _spec_fields(plan: Plan, block) -> dict:
    # Resources apply to the whole sweep; evaluate them at the first point.
    point = plan.runs[0].point if plan.runs else {}
    problems = []
    validated = validate_block(block, experiment_scope(plan.spec, point), problems)
    if problems:
        raise SpecError(problems)
    set_names = {attribute.name for attribute in block.attributes()}
    return {name: getattr(validated, name) for name in set_names}


def choose_executor(flag: str | None, submit: bool, resources: ResourcesConfig, profile: dict) -> str:
    """--executor, then --submit, then the spec, then the profile, then local."""
    if flag is not None:
        return flag
    if submit:
        return "slurm"
    return resources.executor or profile.get("executor") or "local"


def sbatch_parameters(resources: ResourcesConfig) -> dict:
    """submitit's SlurmExecutor parameters for these resources."""
    parameters = {"cpus_per_task": resources.cpus}
    if resources.partition:
        parameters["partition"] = resources.partition
    if resources.time is not None:
        parameters["time"] = max(1, int(round(resources.time.minutes())))
    if resources.gpus:
        parameters["gpus_per_node"] = resources.gpus
    if resources.mem is not None:
        parameters["mem"] = f"{max(1, int(resources.mem.base // 1e6))}M"
    if resources.account:
        parameters["account"] = resources.account
    if resources.qos:
        parameters["qos"] = resources.qos
    extra = {}
    for option in resources.extra:
        name, _, value = option.lstrip("-").partition("=")
        extra[name.replace("-", "_")] = value if value else True
    if extra:
        parameters["additional_parameters"] = extra
    return parameters
