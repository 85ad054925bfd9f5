"""The typed schema of spec blocks. The grammar is generic; these pydantic models decide
which block kinds and fields exist, their types, ranges and defaults.

A block kind with variants (models, parametrizations, measurements) has one model per
variant, chosen by the block's first label: `model mlp2 { ... }`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from .polynomial import Expansion, Polynomial, expand
from .values import Domain, Quantity


class BlockConfig(BaseModel):
    """Base of every block schema: unknown fields are errors and numbers are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, arbitrary_types_allowed=True, frozen=True)


PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0)]


# Target.


class TargetConfig(BlockConfig):
    domain: Domain = Field(description="input distribution: hypercube(d), biased_hypercube(d, p) or gaussian(d)")
    f: Polynomial = Field(description="the target polynomial, e.g. x1 + x1*x2*x3 or He2(z1)*z2")
    noise: Annotated[float, Field(ge=0)] = Field(0.0, description="standard deviation of Gaussian label noise")

    @field_validator("f")
    @classmethod
    def _nonconstant(cls, f: Polynomial) -> Polynomial:
        if f.is_constant():
            raise ValueError("the target is constant, so there is nothing to learn")
        return f

    def expansion(self) -> Expansion:
        return expand(self.f, self.domain.kind, self.domain.p)

    @field_serializer("f")
    def _serialize_f(self, f: Polynomial):
        return self.expansion().to_json()

    @field_serializer("domain")
    def _serialize_domain(self, domain: Domain):
        return {"kind": domain.kind, "d": domain.d, "p": domain.p}


# Models, chosen by label.


Activation = Literal["relu", "tanh", "gelu", "softplus"]


class TwoLayerConfig(BlockConfig):
    """Two-layer fully connected network: f(x) = sum_j a_j act(<w_j, x> + b_j), scaled by the parametrization."""

    width: PositiveInt = Field(description="number of hidden neurons m")
    activation: Activation = Field("relu", description="hidden activation")
    bias: bool = Field(True, description="whether hidden neurons have a bias b_j")


MODEL_KINDS: dict[str, type[BlockConfig]] = {"mlp2": TwoLayerConfig}


# Parametrizations, chosen by label.


class MeanFieldConfig(BlockConfig):
    """Mean-field scaling: readout multiplied by 1/m, learning rate multiplied by m.

    Init: w_j ~ N(0, I/d), b_j ~ N(0, bias_init^2), and a_j = +-readout_init with random
    signs (readout_distribution = "sign") or a_j ~ N(0, readout_init^2) ("normal").
    """

    bias_init: Annotated[float, Field(ge=0)] = Field(1.0, description="standard deviation of the initial biases")
    readout_init: Annotated[float, Field(ge=0)] = Field(1.0, description="scale of the initial readout weights")
    readout_distribution: Literal["sign", "normal"] = Field(
        "sign", description="random signs or a Gaussian for the initial readout weights")


PARAMETRIZATIONS: dict[str, type[BlockConfig]] = {"mean_field": MeanFieldConfig}


# Training.


class TrainConfig(BlockConfig):
    optimizer: Literal["sgd"] = Field("sgd", description="update rule")
    lr: PositiveFloat = Field(description="per-neuron learning rate before the parametrization's multiplier")
    batch: PositiveInt = Field(description="fresh samples per online SGD step")
    steps: PositiveInt = Field(description="training steps (the budget); samples = steps * batch")
    loss: Literal["mse"] = Field("mse", description="loss: mse is 0.5 * mean squared error")


# Measurements, chosen by label.


class TestLossConfig(BlockConfig):
    """Test loss on a fixed test set per run, logged every `every` steps inside the compiled program."""

    every: PositiveInt = Field(description="logging interval in steps")
    samples: PositiveInt = Field(2048, description="size of the fixed test set")
    normalized: bool = Field(True, description="divide the MSE by Var(f), so 1.0 is the zero predictor")


class SamplesToLearnConfig(BlockConfig):
    """Samples until a logged loss first drops below a threshold: first logged step times batch.

    A run that never gets there is censored: its value is reported as above the budget.
    """

    of: str = Field("test_loss", description="the logged measurement to threshold")
    below: PositiveFloat = Field(description="threshold on that measurement")
    stop: bool = Field(False, description="end a program once every run in it has learned")


MEASURE_KINDS: dict[str, type[BlockConfig]] = {
    "test_loss": TestLossConfig,
    "samples_to_learn": SamplesToLearnConfig,
}


# Cross-run analyses. `fit` is kept as an expression and evaluated on results.


class AnalyzeConfig(BlockConfig):
    over: str = Field("seed", description="the sweep axis resampled by the bootstrap")
    bootstrap: PositiveInt = Field(1000, description="bootstrap resamples for the interval")
    level: Annotated[float, Field(gt=0, lt=1)] = Field(0.95, description="confidence level of the interval")


ANALYSIS_FUNCTIONS = {"power_law": ("y", "x")}


# Where and how jobs run.


class ResourcesConfig(BlockConfig):
    partition: str | None = Field(None, description="SLURM partition")
    time: Quantity | None = Field(None, description="time limit per job, e.g. 30min or 2h")
    cpus: PositiveInt = Field(2, description="CPUs per task")
    gpus: Annotated[int, Field(ge=0)] = Field(0, description="GPUs per task")
    mem: Quantity | None = Field(None, description="memory per job, e.g. 16GB")
    account: str | None = Field(None, description="SLURM account")
    qos: str | None = Field(None, description="SLURM quality of service")
    array_parallelism: PositiveInt = Field(64, description="maximum array tasks running at once")

    @field_validator("time")
    @classmethod
    def _duration(cls, value):
        if value is not None and value.dimension != "duration":
            raise ValueError(f"time must be a duration such as 2h, got {value}")
        return value

    @field_validator("mem")
    @classmethod
    def _memory(cls, value):
        if value is not None and value.dimension != "memory":
            raise ValueError(f"mem must be a memory size such as 16GB, got {value}")
        return value


# Blocks an experiment may contain, and whether each is required.


SINGLE_BLOCKS: dict[str, type[BlockConfig] | dict[str, type[BlockConfig]] | None] = {
    "target": TargetConfig,
    "model": MODEL_KINDS,
    "parametrization": PARAMETRIZATIONS,
    "train": TrainConfig,
    "sweep": None,
    "resources": ResourcesConfig,
}
REPEATED_BLOCKS = {"measure": MEASURE_KINDS, "analyze": AnalyzeConfig}
REQUIRED_BLOCKS = ("target", "model", "parametrization", "train")
EXPERIMENT_FIELDS = {"doc"}
