"""The typed schema of spec blocks. The grammar is generic; these pydantic models decide
which block kinds and fields exist, their types, ranges and defaults.

A block kind with variants (models, parametrizations, measurements) has one model per
variant, chosen by the block's first label: `model mlp2 { ... }`.
"""

from __future__ import annotations

import functools
from typing import Annotated, ClassVar, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_serializer, field_validator

from .polynomial import Expansion, Polynomial, expand
from .values import Domain, Quantity


class BlockConfig(BaseModel):
    """Base of every block schema: unknown fields are errors, numbers are not coerced, and
    floats are finite (1e999 evaluates to inf, which no field means)."""

    model_config = ConfigDict(extra="forbid", strict=True, arbitrary_types_allowed=True, frozen=True,
                              allow_inf_nan=False)

    # Fields added after wall 0.1, left out of the run-id record while at their defaults,
    # so the run ids (and stored results) of existing specs do not change.
    LATER_FIELDS: ClassVar[tuple[str, ...]] = ()

    def hashed_record(self) -> dict:
        """The JSON record of this block that enters the run id."""
        record = self.model_dump(mode="json")
        for name in self.LATER_FIELDS:
            if getattr(self, name) == type(self).model_fields[name].default:
                record.pop(name, None)
        return record


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

    @field_validator("f")
    @classmethod
    def _within_domain(cls, f: Polynomial, info: ValidationInfo) -> Polynomial:
        # Without this check, a coordinate past d would read past the end of each input.
        domain = info.data.get("domain")
        highest = max(f.coordinates(), default=0)
        if domain is not None and highest > domain.d:
            raise ValueError(f"it reads coordinate {highest}, but the domain {domain} has only "
                             f"{domain.d} coordinates; raise d to at least {highest} or drop the term")
        if domain is not None and not expand(f, domain.kind, domain.p).support():
            # x1*x1 is 1 on the hypercube, and He2(x1) is 0 there: constant on this domain.
            where = ", where x_i^2 = 1," if domain.kind == "hypercube" else ""
            raise ValueError(f"it is constant on {domain}{where} so there is nothing to learn")
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


Activation = Literal["relu", "tanh", "gelu", "softplus", "quadratic", "cubic"]


class TwoLayerConfig(BlockConfig):
    """Two-layer fully connected network: f(x) = sum_j a_j act(<w_j, x> + b_j), scaled by the parametrization."""

    width: PositiveInt = Field(description="number of hidden neurons m")
    activation: Activation = Field("relu", description="hidden activation")
    bias: bool = Field(True, description="whether hidden neurons have a bias b_j")


class DeepConfig(BlockConfig):
    """Fully connected network with `depth` weight layers (depth - 1 hidden layers of `width`)."""

    width: PositiveInt = Field(description="neurons per hidden layer")
    depth: Annotated[int, Field(ge=2)] = Field(description="number of weight layers, readout included")
    activation: Activation = Field("relu", description="hidden activation")
    bias: bool = Field(True, description="whether hidden neurons have biases")


class ResNetConfig(DeepConfig):
    """ResNet-style MLP: an input layer, then hidden layers h <- h + act(W h + b), then a linear readout."""


MODEL_KINDS: dict[str, type[BlockConfig]] = {"mlp2": TwoLayerConfig, "mlp": DeepConfig, "resnet": ResNetConfig}


# Parametrizations, chosen by label. Each is a table of init scales, forward multipliers
# and learning-rate multipliers per layer; runtime/models.py builds the tables.

InitScale = Annotated[float, Field(gt=0)]


class MeanFieldConfig(BlockConfig):
    """Mean-field scaling: readout multiplied by 1/m, learning rate multiplied by m.

    Init: w_j ~ N(0, I/d), b_j ~ N(0, bias_init^2), and a_j = +-readout_init with random
    signs (readout_distribution = "sign") or a_j ~ N(0, readout_init^2) ("normal").
    Hidden layers of deeper nets start at N(0, 1/fan_in).
    """

    bias_init: Annotated[float, Field(ge=0)] = Field(1.0, description="standard deviation of the initial biases")
    readout_init: Annotated[float, Field(ge=0)] = Field(1.0, description="scale of the initial readout weights")
    readout_distribution: Literal["sign", "normal"] = Field(
        "sign", description="random signs or a Gaussian for the initial readout weights")
    init_scale: InitScale = Field(1.0, description="factor on every initial weight (small init below 1)")

    LATER_FIELDS: ClassVar[tuple[str, ...]] = ("init_scale",)


class StandardConfig(BlockConfig):
    """PyTorch-like default: weights N(0, 1/fan_in), no multipliers, one learning rate."""

    bias_init: Annotated[float, Field(ge=0)] = Field(0.0, description="standard deviation of the initial biases")
    init_scale: InitScale = Field(1.0, description="factor on every initial weight (small init below 1)")


class NTKConfig(BlockConfig):
    """NTK parametrization: weights N(0, 1), forward multiplier 1/sqrt(fan_in), one learning rate."""

    bias_init: Annotated[float, Field(ge=0)] = Field(0.0, description="standard deviation of the initial biases")
    init_scale: InitScale = Field(1.0, description="factor on every initial weight (small init below 1)")


class MuPConfig(BlockConfig):
    """muP for SGD (abc form): input multiplier sqrt(m/d), readout multiplier 1/sqrt(m), weights N(0, 1/m)."""

    bias_init: Annotated[float, Field(ge=0)] = Field(0.0, description="standard deviation of the initial biases")
    init_scale: InitScale = Field(1.0, description="factor on every initial weight (small init below 1)")


class LazyConfig(BlockConfig):
    """Lazy training: the centred model alpha * (h(w) - h(w0)) with loss (1 / (2 alpha^2)) ||alpha h - y||^2.

    The base network h has the NTK table (weights N(0, init_scale^2), forward multiplier
    1/sqrt(fan_in), every lr multiplier 1). Training is full-batch gradient descent on a
    fixed training set (`train.samples` points, `train.batch` equal to it). With `twin`,
    the linearization alpha * Dh(w0) (w - w0) trains beside it on the same samples.
    """

    alpha: PositiveFloat = Field(description="output scale alpha; larger is lazier")
    twin: bool = Field(True, description="train the linearized twin beside the model")
    bias_init: Annotated[float, Field(ge=0)] = Field(0.0, description="standard deviation of the initial biases")
    init_scale: InitScale = Field(1.0, description="factor on every initial weight")


PARAMETRIZATIONS: dict[str, type[BlockConfig]] = {
    "lazy": LazyConfig,
    "mean_field": MeanFieldConfig,
    "standard": StandardConfig,
    "ntk": NTKConfig,
    "mup": MuPConfig,
}


# Training.


class TrainConfig(BlockConfig):
    optimizer: Literal["sgd", "momentum", "adam", "noisy_gd"] = Field("sgd", description="update rule")
    lr: PositiveFloat = Field(description="per-neuron learning rate before the parametrization's multiplier")
    batch: PositiveInt = Field(description="samples per step (fresh ones online, drawn from the training set in ERM)")
    steps: PositiveInt = Field(description="training steps (the budget); samples = steps * batch online")
    loss: Literal["mse", "logistic"] = Field("mse", description="mse is 0.5 * mean squared error; logistic is log(1 + exp(-y f))")
    momentum: Annotated[float, Field(ge=0, lt=1)] = Field(0.9, description="momentum of the `momentum` optimizer")
    noise: Annotated[float, Field(ge=0)] = Field(0.0, description="std of the Gaussian added to each gradient entry (noisy_gd)")
    weight_decay: Annotated[float, Field(ge=0)] = Field(0.0, description="L2 penalty: weight_decay * w is added to the gradient")
    halve_every: PositiveInt | None = Field(None, description="halve the learning rate every this many steps")
    samples: PositiveInt | None = Field(None, description="size of a fixed training set (ERM, reshuffled every epoch); online when unset")
    layer_steps: PositiveInt | None = Field(None, description="layerwise training: steps per layer before the next one trains")
    layer_order: list[PositiveInt] | None = Field(None, description="layerwise training: layers (1 = first) in the order they train, cycled")

    LATER_FIELDS: ClassVar[tuple[str, ...]] = ("momentum", "noise", "weight_decay", "halve_every", "samples",
                                               "layer_steps", "layer_order")

    @field_validator("layer_order")
    @classmethod
    def _order_with_steps(cls, order, info):
        # Fields are validated in the order they are declared, so layer_steps is known here.
        if order is not None and info.data.get("layer_steps") is None:
            raise ValueError("it takes effect only in layerwise training; set layer_steps too")
        if order is not None and not order:
            raise ValueError("it names no layer; list the layers to train, e.g. [1, 2]")
        return order

    @field_validator("samples")
    @classmethod
    def _enough_samples(cls, samples, info):
        batch = info.data.get("batch")
        if samples is not None and batch is not None and samples < batch:
            raise ValueError(f"the training set ({samples}) is smaller than one batch ({batch})")
        return samples


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


class CoefficientsConfig(BlockConfig):
    """E[f_net(x) chi_S(x)] for every term S of the target (Walsh or normalised Hermite),
    on the test set at every logging point, with the step at which each first reaches
    `fraction` of its target value and whether those steps follow the staircase order."""

    fraction: Annotated[float, Field(gt=0, le=1)] = Field(0.5, description="fraction of the target coefficient that counts as learned")

    SCALARS: ClassVar[tuple[str, ...]] = ("in_order", "learned", "ratio")


class PlateausConfig(BlockConfig):
    """Plateaus of a logged loss: after a running median over 5 logs, maximal stretches
    whose max / min stays within 1 + tolerance, lasting at least `min_fraction` of
    training. The value is the level of the longest plateau whose level lies in
    `above .. below`."""

    of: str = Field("test_loss", description="the logged loss")
    tolerance: PositiveFloat = Field(0.15, description="relative change that still counts as flat")
    min_fraction: Annotated[float, Field(gt=0, lt=1)] = Field(0.05, description="shortest plateau, as a fraction of the steps")
    above: Annotated[float, Field(ge=0)] = Field(0.0, description="only plateaus whose level is above this count")
    below: PositiveFloat = Field(0.95, description="only plateaus whose level is below this count")

    SCALARS: ClassVar[tuple[str, ...]] = ("steps", "count")

    @field_validator("below")
    @classmethod
    def _window(cls, below, info):
        above = info.data.get("above")
        if above is not None and below <= above:
            raise ValueError(f"no level lies above {above} and below {below}; `above` must be smaller")
        return below


class WeightChangeConfig(BlockConfig):
    """Frobenius norm, top singular values and stable rank ||dW||_F^2 / ||dW||_2^2 of
    dW = W_t - W_0 for every weight matrix, at every logging point."""

    top: PositiveInt = Field(8, description="singular values kept per layer")

    SCALARS: ClassVar[tuple[str, ...]] = ("stable_rank", "norm")


class TwinGapConfig(BlockConfig):
    """Lazy runs: max over logged times s <= t of the RMS distance between the model and its
    linearized twin on the test set of `test_loss`, logged at its interval. The value is
    the gap at the end of training T. `NAME_growth` is the exponent of a power-law fit of
    the gap against the step over the logged steps from `growth_from * T` to T."""

    growth_from: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.1, description="start of the window of the growth fit, as a fraction of the training steps")

    SCALARS: ClassVar[tuple[str, ...]] = ("growth",)


class KernelDriftConfig(BlockConfig):
    """Lazy runs: ||K_t - K_0||_F / ||K_0||_F for the empirical NTK on a fixed probe set,
    logged at the `test_loss` interval. The value is the drift at the end of training."""

    samples: PositiveInt = Field(32, description="probe points of the kernel")


MEASURE_KINDS: dict[str, type[BlockConfig]] = {
    "test_loss": TestLossConfig,
    "samples_to_learn": SamplesToLearnConfig,
    "coefficients": CoefficientsConfig,
    "plateaus": PlateausConfig,
    "weight_change": WeightChangeConfig,
    "twin_gap": TwinGapConfig,
    "kernel_drift": KernelDriftConfig,
}


def derived_scalars(kind: str, name: str) -> list[str]:
    """Names of the extra per-run numbers a measurement adds, e.g. `coefficients_in_order`."""
    return [f"{name}_{suffix}" for suffix in getattr(MEASURE_KINDS[kind], "SCALARS", ())]


# Cross-run analyses. `fit` is kept as an expression and evaluated on results.


class AnalyzeConfig(BlockConfig):
    over: str = Field("seed", description="the sweep axis resampled by the bootstrap")
    bootstrap: PositiveInt = Field(1000, description="bootstrap resamples for the interval")
    level: Annotated[float, Field(gt=0, lt=1)] = Field(0.95, description="confidence level of the interval")


# Each function with its required arguments; every function also takes `where`, a
# condition that selects the runs it uses.
ANALYSIS_FUNCTIONS = {"power_law": ("y", "x"), "mean": ("y",), "fraction": ("y",)}


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
    programs_per_task: PositiveInt = Field(1, description="compiled programs packed into one array task")
    extra: list[str] = Field([], description='more sbatch options, e.g. ["constraint=a100", "exclusive"]')
    executor: Literal["local", "slurm", "debug"] | None = Field(
        None, description="where `wallc SPEC` trains: local (in this process), slurm, or debug (the job path, in process)")

    @field_validator("extra")
    @classmethod
    def _sbatch_options(cls, options):
        for option in options:
            name = option.lstrip("-").split("=", 1)[0]
            if not name or not all(c.isalnum() or c in "-_" for c in name):
                raise ValueError(f"`{option}` is not an sbatch option such as constraint=a100 or exclusive")
        return options

    @field_validator("time")
    @classmethod
    def _duration(cls, value):
        if value is not None and value.dimension != "duration":
            raise ValueError(f"time must be a duration such as 2h, got {value}")
        if value is not None and value.base <= 0:
            raise ValueError("a time limit must be positive")
        return value

    @field_validator("mem")
    @classmethod
    def _memory(cls, value):
        if value is not None and value.dimension != "memory":
            raise ValueError(f"mem must be a memory size such as 16GB, got {value}")
        if value is not None and value.base < 1e6:
            # SLURM takes memory in whole megabytes.
            raise ValueError("it is below 1MB, the smallest memory SLURM can be given")
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


@functools.cache
def string_choices() -> dict[str, str]:
    """Map every string a field accepts from a fixed list (`"relu"`, `"adam"`) to that field's name."""
    choices = {}
    for config in _all_subclasses(BlockConfig):
        for name, field in config.model_fields.items():
            for option in _literal_strings(field.annotation):
                choices.setdefault(option, name)
    return choices


def _all_subclasses(cls) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub] + _all_subclasses(sub)
    return found


def _literal_strings(annotation) -> list[str]:
    if get_origin(annotation) is Literal:
        return [a for a in get_args(annotation) if isinstance(a, str)]
    return [s for arg in get_args(annotation) for s in _literal_strings(arg)]
