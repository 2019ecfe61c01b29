"""Settings: parsing, errors, precedence, round trips."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import btune
from btune.config import (
    Behaviour,
    Config,
    PerformanceMode,
    RepeatMode,
    get_params_defaults,
    resolve,
    set_params_defaults,
)


def check_config_roundtrip(config: Config) -> None:
    assert Config.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert f"tradeoff={config.tradeoff!r}" in repr(config)


@given(
    tradeoff=st.floats(0, 1),
    mode=st.sampled_from(list(PerformanceMode)),
    bandwidth=st.floats(1, 1e12),
    waits=st.integers(0, 5),
    softs=st.integers(0, 9),
    hards=st.integers(1, 20),
    repeat=st.sampled_from(list(RepeatMode)),
    hint=st.booleans(),
    inference=st.integers(-1, 100),
    trace=st.booleans(),
    strategy=st.sampled_from(["default", "genetic", "probe"]),
)
def test_config_roundtrip_property(
    tradeoff, mode, bandwidth, waits, softs, hards, repeat, hint, inference, trace, strategy
):
    config = Config(
        tradeoff=tradeoff,
        perf_mode=mode,
        bandwidth=bandwidth,
        behaviour=Behaviour(waits, softs, hards, repeat),
        cparams_hint=hint,
        use_inference=inference,
        trace=trace,
        strategy=strategy,
    )
    check_config_roundtrip(config)


def test_defaults_match_design():
    c = Config()
    assert (c.tradeoff, c.perf_mode, c.bandwidth) == (0.5, PerformanceMode.AUTO, 20 * 2**30)
    assert c.behaviour == Behaviour(0, 5, 10, RepeatMode.STOP)
    assert (c.cparams_hint, c.use_inference, c.models_dir, c.trace) == (False, -1, None, False)


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().tradeoff = 0.2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"tradeoff": 1.5}, ValueError, r"`tradeoff` must be in \[0, 1\]; got 1.5"),
        ({"tradeoff": float("nan")}, ValueError, "`tradeoff` must be in"),
        ({"tradeoff": "0.5"}, TypeError, "`tradeoff` must be a number"),
        ({"tradeoff": True}, TypeError, "`tradeoff` must be a number"),
        ({"tradeoff": (0.5, 0.3, 0.2)}, ValueError, "quality mode.*not support"),
        ({"tradeoff": [0.5, 0.5]}, ValueError, "one number"),
        ({"perf_mode": "fastest"}, ValueError, "`perf_mode` must be one of COMP, DECOMP"),
        ({"perf_mode": 3}, TypeError, "`perf_mode` must be"),
        ({"bandwidth": 0}, ValueError, "`bandwidth` must be a positive"),
        ({"bandwidth": float("inf")}, ValueError, "`bandwidth`"),
        ({"behaviour": {"nwaits": 1}}, ValueError, "unknown key"),
        ({"behaviour": {"nhards_before_stop": 0}}, ValueError, "`nhards_before_stop`"),
        ({"behaviour": {"nsofts_before_hard": 1.5}}, TypeError, "`nsofts_before_hard`"),
        ({"behaviour": {"repeat_mode": "NEVER"}}, ValueError, "`repeat_mode` must be one of"),
        ({"cparams_hint": 1}, TypeError, "`cparams_hint` must be True or False"),
        ({"use_inference": -2}, ValueError, r"`use_inference` must be an integer in -1\.\."),
        ({"use_inference": 2**63}, ValueError, "`use_inference` must be an integer in"),
        ({"behaviour": {"nsofts_before_hard": 2**70}}, ValueError, "`nsofts_before_hard`"),
        ({"models_dir": "/no/such/folder"}, ValueError, "`models_dir` must be an existing"),
        ({"trace": "yes"}, TypeError, "`trace`"),
        ({"strategy": "greedy"}, ValueError, "`strategy` must be one of"),
    ],
)
def test_invalid_values_name_the_setting(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Config(**kwargs)


def test_unknown_setting_suggests_the_close_one():
    with pytest.raises(TypeError, match="did you mean 'tradeoff'"):
        resolve(tradeof=0.3)


@pytest.mark.parametrize(
    ("var", "value", "match"),
    [
        ("BTUNE_TRADEOFF", "abc", "BTUNE_TRADEOFF must be a number"),
        ("BTUNE_TRADEOFF", "1.2", r"BTUNE_TRADEOFF: `tradeoff` must be in \[0, 1\]"),
        ("BTUNE_PERF_MODE", "SPEED", "BTUNE_PERF_MODE: `perf_mode` must be one of"),
        ("BTUNE_TRACE", "maybe", "BTUNE_TRACE must be 0 or 1"),
        ("BTUNE_USE_INFERENCE", "x", "BTUNE_USE_INFERENCE must be an integer"),
        ("BTUNE_USE_INFERENCE", "-5", "BTUNE_USE_INFERENCE: `use_inference`"),
        ("BTUNE_MODELS_DIR", "/no/such/models", "BTUNE_MODELS_DIR: `models_dir` must be"),
    ],
)
def test_bad_environment_is_a_value_error(monkeypatch, var, value, match):
    monkeypatch.setenv(var, value)
    with pytest.raises(ValueError, match=match):
        resolve()


def test_precedence_argument_over_env_over_defaults(monkeypatch):
    set_params_defaults(tradeoff=0.1, perf_mode=PerformanceMode.DECOMP)
    assert resolve().tradeoff == 0.1
    assert resolve().perf_mode is PerformanceMode.DECOMP
    monkeypatch.setenv("BTUNE_TRADEOFF", "0.7")
    assert resolve().tradeoff == 0.7
    assert resolve(tradeoff=0.9).tradeoff == 0.9
    assert resolve(tradeoff=None).tradeoff == 0.7


def test_auto_mode_reads_env_else_comp(monkeypatch):
    assert resolve().perf_mode is PerformanceMode.COMP
    monkeypatch.setenv("BTUNE_PERF_MODE", "balanced")
    assert resolve().perf_mode is PerformanceMode.BALANCED
    assert resolve(perf_mode="DECOMP").perf_mode is PerformanceMode.DECOMP
    assert resolve(perf_mode=PerformanceMode.AUTO).perf_mode is PerformanceMode.BALANCED


def test_env_is_read_when_a_run_starts_not_at_import(monkeypatch):
    monkeypatch.setenv("BTUNE_TRACE", "1")
    assert resolve().trace is True
    monkeypatch.setenv("BTUNE_TRACE", "0")
    assert resolve().trace is False


def test_models_dir_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("BTUNE_MODELS_DIR", str(tmp_path))
    assert resolve().models_dir == tmp_path


def test_set_params_defaults_validates_before_storing():
    set_params_defaults(tradeoff=0.3)
    with pytest.raises(ValueError, match="`tradeoff`"):
        set_params_defaults(tradeoff=3.0, trace=True)
    assert get_params_defaults() == {"tradeoff": 0.3}
    with pytest.raises(TypeError, match="unknown btune setting"):
        set_params_defaults(level=3)


def test_public_names():
    assert btune.PerformanceMode.COMP.name == "COMP"
    assert {m.name for m in btune.RepeatMode} == {"STOP", "SOFT", "ALL"}
    assert {m.name for m in btune.PerformanceMode} == {"COMP", "DECOMP", "BALANCED", "AUTO"}
    btune.set_params_defaults(behaviour={"nwaits_before_readapt": 2})
    assert resolve().behaviour.nwaits_before_readapt == 2


def test_numpy_scalars_are_accepted():
    import numpy as np

    config = Config(
        tradeoff=np.float32(0.25),
        bandwidth=np.int64(2**30),
        use_inference=np.int64(3),
        behaviour={"nsofts_before_hard": np.int32(2)},
    )
    assert config.tradeoff == 0.25 and type(config.tradeoff) is float
    assert config.bandwidth == 2**30
    assert config.use_inference == 3 and type(config.use_inference) is int
    assert config.behaviour.nsofts_before_hard == 2
    with pytest.raises(TypeError, match="`tradeoff` must be a number"):
        Config(tradeoff=np.bool_(True))


def test_params_hold_only_search_space_levels():
    from btune.space import Params, Pipeline

    with pytest.raises(ValueError, match=r"`clevel` must be in 1\.\.9; got 0"):
        Params("LZ4", Pipeline.SHUFFLE, 0, "ALWAYS", 1, 1)
    with pytest.raises(ValueError, match="`codec` must be one of"):
        Params("NDLZ")


def test_a_bad_variable_does_not_break_a_call_that_overrides_it(monkeypatch):
    monkeypatch.setenv("BTUNE_TRADEOFF", "abc")
    monkeypatch.setenv("BTUNE_PERF_MODE", "fast")
    config = resolve(tradeoff=0.0, perf_mode="DECOMP")
    assert (config.tradeoff, config.perf_mode) == (0.0, PerformanceMode.DECOMP)
    with pytest.raises(ValueError, match="BTUNE_TRADEOFF"):
        resolve(perf_mode="DECOMP")  # not overridden: still an error
    with pytest.raises(ValueError, match="BTUNE_PERF_MODE"):
        resolve(tradeoff=0.0, perf_mode="AUTO")  # AUTO defers to the variable


@pytest.mark.parametrize(
    "var",
    [
        "BTUNE_TRADEOFF",
        "BTUNE_PERF_MODE",
        "BTUNE_TRACE",
        "BTUNE_MODELS_DIR",
        "BTUNE_USE_INFERENCE",
    ],
)
@pytest.mark.parametrize("text", ["", "  "])
def test_an_empty_variable_counts_as_unset(monkeypatch, var, text):
    monkeypatch.setenv(var, text)
    assert resolve() == resolve(environ={})


def test_overlapping_runs_hide_the_plugin_trigger_until_the_last_one_ends(monkeypatch):
    from btune import config as cfg

    monkeypatch.setenv("BTUNE_TRADEOFF", "0.25")
    first, second = cfg.hide_plugin_trigger(), cfg.hide_plugin_trigger()
    first.__enter__()
    second.__enter__()
    assert "BTUNE_TRADEOFF" not in os.environ  # C-Blosc2 must not see it ...
    assert resolve().tradeoff == 0.25  # ... btune still does
    first.__exit__(None, None, None)
    assert "BTUNE_TRADEOFF" not in os.environ  # the other run is still going
    second.__exit__(None, None, None)
    assert os.environ["BTUNE_TRADEOFF"] == "0.25"


def test_threads_writing_at_once_with_the_plugin_trigger_set(monkeypatch):
    monkeypatch.setenv("BTUNE_TRADEOFF", "0.25")  # not the default: a run must see it
    data = np.linspace(0, 1, 20000)

    def write(k: int) -> float:
        out = btune.asarray(data * k, chunks=(2000,))
        assert np.array_equal(out[:], data * k)
        return btune.compress(data, chunks=(2000,)).config.tradeoff

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        tradeoffs = list(pool.map(write, range(40)))
    assert tradeoffs == [0.25] * 40
    assert os.environ["BTUNE_TRADEOFF"] == "0.25"


def test_minus_zero_is_tradeoff_zero():
    value = resolve(tradeoff=-0.0).tradeoff
    assert value == 0.0 and str(value) == "0.0"
