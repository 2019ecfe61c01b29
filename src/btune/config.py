"""Every btune setting, parsed and validated in one place.

A run's settings are one frozen :class:`Config`.  It is built by :func:`resolve`
when a run starts, from four layers, highest first:

1. arguments of the call or flags of the command line,
2. environment variables (``BTUNE_TRADEOFF``, ``BTUNE_PERF_MODE``, ``BTUNE_TRACE``,
   ``BTUNE_MODELS_DIR``, ``BTUNE_USE_INFERENCE``),
3. :func:`set_params_defaults`,
4. the built-in defaults, which are the field defaults of :class:`Config`.

Each field has one ``parse_<field>`` function: a wrong Python type raises
``TypeError``, a wrong value (including an unparsable environment string) raises
``ValueError`` naming the setting, the accepted values and the bad value.  An
environment variable set to an empty string counts as unset, and one whose
setting the call gives explicitly is not read at all.

This module imports nothing else of btune.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import numbers
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "Behaviour",
    "Config",
    "PerformanceMode",
    "RepeatMode",
    "STRATEGIES",
    "get_params_defaults",
    "reset_params_defaults",
    "resolve",
    "set_params_defaults",
]

#: Names of the tuning strategies a run may ask for ("default" picks the best measured).
STRATEGIES = ("default", "genetic", "probe")

DEFAULT_BANDWIDTH = 20 * 2**30


class PerformanceMode(enum.Enum):
    """Which speed counts: writing (COMP), reading (DECOMP) or both (BALANCED)."""

    COMP = "COMP"
    DECOMP = "DECOMP"
    BALANCED = "BALANCED"
    AUTO = "AUTO"


class RepeatMode(enum.Enum):
    """What happens after the last hard readapt."""

    STOP = "STOP"
    SOFT = "SOFT"
    ALL = "ALL"


def _check_type(name: str, value: Any, types: type | tuple[type, ...], what: str) -> None:
    if not isinstance(value, types) or (
        isinstance(value, bool) and bool not in _as_tuple(types)
    ):
        msg = f"`{name}` must be {what}; got {value!r} of type {type(value).__name__}"
        raise TypeError(msg)


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _parse_enum(name: str, value: Any, cls: type[enum.Enum]) -> Any:
    if isinstance(value, cls):
        return value
    _check_type(name, value, str, f"a {cls.__name__} or one of its names")
    key = value.strip().upper()
    try:
        return cls[key]
    except KeyError as err:
        accepted = ", ".join(m.name for m in cls)
        msg = f"`{name}` must be one of {accepted}; got {value!r}"
        raise ValueError(msg) from err


#: Counts are stored in the output's metadata, which holds 64-bit integers.
MAX_COUNT = 2**63 - 1


def _parse_count(name: str, value: Any, minimum: int) -> int:
    _check_type(name, value, numbers.Integral, "an integer")
    if not minimum <= value <= MAX_COUNT:
        msg = f"`{name}` must be an integer in {minimum}..{MAX_COUNT}; got {value!r}"
        raise ValueError(msg)
    return int(value)


def parse_tradeoff(value: Any) -> float:
    """A float in [0, 1]; a 3-value (ratio, speed, quality) tradeoff is refused for now."""
    if isinstance(value, (tuple, list)):
        if len(value) == 3:
            msg = (
                "`tradeoff` with 3 values (ratio, speed, quality) selects the lossy quality "
                f"mode, which btune does not support yet; got {tuple(value)!r}. "
                "Use one number in [0, 1]."
            )
            raise ValueError(msg)
        msg = f"`tradeoff` must be one number in [0, 1]; got {value!r}"
        raise ValueError(msg)
    _check_type("tradeoff", value, numbers.Real, "a number in [0, 1]")
    tradeoff = float(value)
    if not 0.0 <= tradeoff <= 1.0:  # also rejects NaN
        msg = f"`tradeoff` must be in [0, 1]; got {value!r}"
        raise ValueError(msg)
    return tradeoff + 0.0  # -0.0 becomes 0.0


def parse_perf_mode(value: Any) -> PerformanceMode:
    """A :class:`PerformanceMode` or its name (case-insensitive)."""
    result: PerformanceMode = _parse_enum("perf_mode", value, PerformanceMode)
    return result


def parse_bandwidth(value: Any) -> float:
    """Bytes per second of the link the compressed bytes travel through; > 0."""
    _check_type("bandwidth", value, numbers.Real, "a positive number of bytes/s")
    if not (value > 0 and math.isfinite(value)):
        msg = f"`bandwidth` must be a positive, finite number of bytes/s; got {value!r}"
        raise ValueError(msg)
    return float(value)


@dataclasses.dataclass(frozen=True)
class Behaviour:
    """How many readapts of each kind the genetic search runs, and what follows them."""

    nwaits_before_readapt: int = 0
    nsofts_before_hard: int = 5
    nhards_before_stop: int = 10
    repeat_mode: RepeatMode = RepeatMode.STOP

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "nwaits_before_readapt",
            _parse_count("nwaits_before_readapt", self.nwaits_before_readapt, 0),
        )
        object.__setattr__(
            self,
            "nsofts_before_hard",
            _parse_count("nsofts_before_hard", self.nsofts_before_hard, 0),
        )
        object.__setattr__(
            self,
            "nhards_before_stop",
            _parse_count("nhards_before_stop", self.nhards_before_stop, 1),
        )
        object.__setattr__(
            self, "repeat_mode", _parse_enum("repeat_mode", self.repeat_mode, RepeatMode)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "nwaits_before_readapt": self.nwaits_before_readapt,
            "nsofts_before_hard": self.nsofts_before_hard,
            "nhards_before_stop": self.nhards_before_stop,
            "repeat_mode": self.repeat_mode.name,
        }


def parse_behaviour(value: Any) -> Behaviour:
    """A :class:`Behaviour` or a mapping of its fields."""
    if isinstance(value, Behaviour):
        return value
    _check_type("behaviour", value, Mapping, "a Behaviour or a mapping of its fields")
    fields = {f.name for f in dataclasses.fields(Behaviour)}
    unknown = sorted(set(value) - fields)
    if unknown:
        msg = (
            f"`behaviour` accepts {', '.join(sorted(fields))}; got unknown key(s) {unknown!r}"
        )
        raise ValueError(msg)
    return Behaviour(**value)


def parse_cparams_hint(value: Any) -> bool:
    _check_type("cparams_hint", value, bool, "True or False")
    return bool(value)


def parse_use_inference(value: Any) -> int:
    """-1 (every chunk), 0 (none) or N (the first N chunks)."""
    return _parse_count("use_inference", value, -1)


def parse_models_dir(value: Any) -> Path | None:
    """None, or an existing folder."""
    if value is None:
        return None
    _check_type("models_dir", value, (str, os.PathLike), "a path to a folder, or None")
    path = Path(value)
    if not path.is_dir():
        msg = f"`models_dir` must be an existing folder; got {str(value)!r}"
        raise ValueError(msg)
    return path


def parse_trace(value: Any) -> bool:
    _check_type("trace", value, bool, "True or False")
    return bool(value)


def parse_strategy(value: Any) -> str:
    _check_type("strategy", value, str, f"one of {', '.join(STRATEGIES)}")
    if value not in STRATEGIES:
        msg = f"`strategy` must be one of {', '.join(STRATEGIES)}; got {value!r}"
        raise ValueError(msg)
    return str(value)


@dataclasses.dataclass(frozen=True)
class Config:
    """The settings of one tuning run (see DESIGN: "What the user controls")."""

    tradeoff: float = 0.5
    perf_mode: PerformanceMode = PerformanceMode.AUTO
    bandwidth: float = DEFAULT_BANDWIDTH
    behaviour: Behaviour = dataclasses.field(default_factory=Behaviour)
    cparams_hint: bool = False
    use_inference: int = -1
    models_dir: Path | None = None
    trace: bool = False
    strategy: str = "default"

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            parser = _PARSERS[field.name]
            object.__setattr__(self, field.name, parser(getattr(self, field.name)))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``Config.from_dict(c.to_dict()) == c``."""
        return {
            "tradeoff": self.tradeoff,
            "perf_mode": self.perf_mode.name,
            "bandwidth": self.bandwidth,
            "behaviour": self.behaviour.to_dict(),
            "cparams_hint": self.cparams_hint,
            "use_inference": self.use_inference,
            "models_dir": None if self.models_dir is None else str(self.models_dir),
            "trace": self.trace,
            "strategy": self.strategy,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Config:
        _check_unknown(data)
        return cls(**data)


_PARSERS = {
    "tradeoff": parse_tradeoff,
    "perf_mode": parse_perf_mode,
    "bandwidth": parse_bandwidth,
    "behaviour": parse_behaviour,
    "cparams_hint": parse_cparams_hint,
    "use_inference": parse_use_inference,
    "models_dir": parse_models_dir,
    "trace": parse_trace,
    "strategy": parse_strategy,
}

FIELDS = tuple(_PARSERS)


def _check_unknown(settings: Mapping[str, Any]) -> None:
    unknown = sorted(set(settings) - set(FIELDS))
    if unknown:
        import difflib

        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, FIELDS, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        msg = f"unknown btune setting(s) {', '.join(hints)}; accepted: {', '.join(FIELDS)}"
        raise TypeError(msg)


# The only process-wide state of the configuration: what set_params_defaults() stored.
_user_defaults: dict[str, Any] = {}


def set_params_defaults(**kwargs: Any) -> None:
    """Store defaults for later runs (below arguments and the environment).

    Values are validated now; an invalid one raises and changes nothing.
    """
    _check_unknown(kwargs)
    merged = {**_user_defaults, **kwargs}
    Config(**merged)  # validate the whole set before storing any of it
    _user_defaults.clear()
    _user_defaults.update(merged)


def get_params_defaults() -> dict[str, Any]:
    """A copy of what :func:`set_params_defaults` stored."""
    return dict(_user_defaults)


def reset_params_defaults() -> None:
    """Forget everything :func:`set_params_defaults` stored."""
    _user_defaults.clear()


def _env_float(var: str, text: str) -> float:
    try:
        return float(text)
    except ValueError as err:
        msg = f"{var} must be a number in [0, 1]; got {text!r}"
        raise ValueError(msg) from err


def _env_int(var: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError as err:
        msg = f"{var} must be an integer (-1 all chunks, 0 none, N first N); got {text!r}"
        raise ValueError(msg) from err


def _env_bool(var: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("", "0", "false", "no", "off"):
        return False
    msg = f"{var} must be 0 or 1 (or false/true, no/yes, off/on); got {text!r}"
    raise ValueError(msg)


#: C-Blosc2 itself reacts to this variable by loading the old Btune plugin (and fails
#: when it is absent), so btune hides it from the process while it drives blosc2.
PLUGIN_TRIGGER = "BTUNE_TRADEOFF"

_hidden_lock = threading.Lock()
_hidden_users = 0
_hidden_value: str | None = None


class hide_plugin_trigger:  # noqa: N801 - used like a function: ``with hide_plugin_trigger():``
    """Hide ``BTUNE_TRADEOFF`` from C-Blosc2 while any btune run lasts.

    Runs may overlap (threads): the variable is removed when the first one starts
    and put back when the last one ends, and :func:`resolve` still reads its value
    meanwhile.  Code outside btune reading the process environment in those
    moments does not see it.  (A class rather than a generator: entering costs
    well under a microsecond, on every write.)
    """

    def __enter__(self) -> None:
        global _hidden_users, _hidden_value
        with _hidden_lock:
            if _hidden_users == 0:
                _hidden_value = os.environ.pop(PLUGIN_TRIGGER, None)
            _hidden_users += 1

    def __exit__(self, *exc: object) -> None:
        global _hidden_users, _hidden_value
        with _hidden_lock:
            _hidden_users -= 1
            if _hidden_users == 0 and _hidden_value is not None:
                os.environ.setdefault(PLUGIN_TRIGGER, _hidden_value)
                _hidden_value = None


class _ProcessEnvironment:
    """``os.environ``, with the value :class:`hide_plugin_trigger` holds back."""

    def get(self, var: str) -> str | None:
        value = os.environ.get(var)
        if value is None and var == PLUGIN_TRIGGER:
            with _hidden_lock:
                value = _hidden_value
        return value


def _from_environment(
    environ: Mapping[str, str] | _ProcessEnvironment, skip: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Settings given by environment variables, each validated with the variable's name.

    Empty variables count as unset; the settings in ``skip`` (given explicitly) are
    not read, so a bad variable cannot break a call that overrides it.
    """
    readers: dict[str, tuple[str, Any]] = {
        "BTUNE_TRADEOFF": ("tradeoff", _env_float),
        "BTUNE_PERF_MODE": ("perf_mode", lambda var, text: text),
        "BTUNE_TRACE": ("trace", _env_bool),
        "BTUNE_MODELS_DIR": ("models_dir", lambda var, text: text),
        "BTUNE_USE_INFERENCE": ("use_inference", _env_int),
    }
    found: dict[str, Any] = {}
    for var, (field, read) in readers.items():
        text = environ.get(var)
        if text is None or not text.strip() or field in skip:
            continue
        value = read(var, text)
        try:
            found[field] = _PARSERS[field](value)
        except (TypeError, ValueError) as err:
            msg = f"{var}: {err}"
            raise ValueError(msg) from err
    return found


def _is_auto(field: str, value: Any) -> bool:
    """True for an explicit ``perf_mode`` AUTO, which defers to ``BTUNE_PERF_MODE``."""
    if field != "perf_mode":
        return False
    try:
        return parse_perf_mode(value) is PerformanceMode.AUTO
    except (TypeError, ValueError):
        return False  # Config reports it


def resolve(environ: Mapping[str, str] | None = None, **overrides: Any) -> Config:
    """The configuration of a run starting now.

    ``overrides`` are the call's own arguments (``None`` means "not given"); the
    environment is read now, never at import.  ``AUTO`` perf mode becomes
    ``BTUNE_PERF_MODE`` if that is set, else ``COMP``.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    _check_unknown(given)
    source = _ProcessEnvironment() if environ is None else environ
    env = _from_environment(
        source, skip=frozenset(k for k in given if not _is_auto(k, given[k]))
    )
    settings = {**_user_defaults, **env, **given}
    config = Config(**settings)
    if config.perf_mode is PerformanceMode.AUTO:
        env_mode = env.get("perf_mode", PerformanceMode.AUTO)
        mode = PerformanceMode.COMP if env_mode is PerformanceMode.AUTO else env_mode
        config = dataclasses.replace(config, perf_mode=mode)
    return config
