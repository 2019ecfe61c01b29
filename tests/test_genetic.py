"""The genetic strategy, driven with scripted measurements (no blosc2 timing at all)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import pytest

from btune.config import Behaviour, Config, PerformanceMode, RepeatMode
from btune.objective import Measurement
from btune.space import LOSSLESS_CODECS, Params, Pipeline, available_codecs, pipelines_for
from btune.strategies.base import Step
from btune.strategies.genetic import (
    NOISE_MARGIN,
    GeneticStrategy,
    Readapt,
    State,
    candidate_codecs,
    trial_clevel,
)

NBYTES = 1 << 20
#: So large that transfer time vanishes: the objective is then exactly
#: tradeoff * ln(ratio) + (1 - tradeoff) * ln(NBYTES / seconds).
HUGE_BANDWIDTH = 1e30

Judge = Callable[[Params], Measurement]
History = list[tuple[Step, str]]


def make_config(
    tradeoff: float = 0.5, mode: str = "COMP", **behaviour: int | RepeatMode
) -> Config:
    return Config(
        tradeoff=tradeoff,
        perf_mode=PerformanceMode[mode],
        bandwidth=HUGE_BANDWIDTH,
        behaviour=Behaviour(**behaviour),  # type: ignore[arg-type]
    )


def make(
    tradeoff: float = 0.5,
    mode: str = "COMP",
    *,
    typesize: int = 4,
    cores: int = 1,
    hint: Params | None = None,
    codecs: tuple[str, ...] = LOSSLESS_CODECS,
    **behaviour: int | RepeatMode,
) -> GeneticStrategy:
    config = make_config(tradeoff, mode, **behaviour)
    return GeneticStrategy(config, typesize=typesize, cores=cores, hint=hint, codecs=codecs)


def measure(
    ratio: float = 2.0, seconds: float = 1e-3, *, special: bool = False
) -> Measurement:
    """A chunk of NBYTES compressed ``ratio`` times; each codec pass takes ``seconds``."""
    return Measurement(NBYTES, round(NBYTES / ratio), seconds, seconds, special)


def flat(params: Params) -> Measurement:
    """Every setting measures the same: only the first chunk ever wins."""
    return measure()


def no_probe(params: Params) -> Measurement:
    raise AssertionError("the genetic strategy learns from stored chunks only")


def drive(strategy: GeneticStrategy, judge: Judge, nchunks: int) -> History:
    """Store ``nchunks`` chunks, each measured by ``judge``; stop early once finished."""
    history: History = []
    for _ in range(nchunks):
        if strategy.finished:
            break
        step = strategy.propose(no_probe)
        history.append((step, strategy.observe(step, judge(step.params))))
    return history


def runs(history: History) -> list[tuple[str, str, int]]:
    """Consecutive steps grouped by (readapt, state), with their lengths."""
    keyed = [(step.readapt, step.state) for step, _ in history]
    return [
        (readapt, state, len(list(group)))
        for (readapt, state), group in itertools.groupby(keyed)
    ]


def readapts(history: History) -> list[str]:
    """The kind of each readapt in order (readapts must be separated by WAIT chunks)."""
    kinds = [readapt for readapt, _ in itertools.groupby(step.readapt for step, _ in history)]
    return [kind for kind in kinds if kind != "WAIT"]


def of_state(history: History, state: State) -> list[Params]:
    return [step.params for step, _ in history if step.state == state.value]


def hard_readapts(history: History) -> list[list[Params]]:
    """The CODEC_FILTER trials of each hard readapt."""
    groups = itertools.groupby(history, key=lambda item: item[0].state)
    return [
        [step.params for step, _ in group]
        for state, group in groups
        if state == State.CODEC_FILTER.value
    ]


# -- CODEC_FILTER ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tradeoff", "mode", "expected"),
    [
        (0.0, "COMP", ("LZ4",)),
        (0.0, "DECOMP", ("LZ4", "LZ4HC")),
        (0.0, "BALANCED", ("LZ4", "LZ4HC")),
        (0.4, "COMP", ("LZ4", "BLOSCLZ")),
        (0.4, "DECOMP", ("LZ4", "BLOSCLZ", "LZ4HC")),
        (0.4, "BALANCED", ("LZ4", "BLOSCLZ", "LZ4HC")),
        (0.9, "COMP", ("ZSTD", "ZLIB")),
        (0.9, "DECOMP", ("ZSTD", "ZLIB")),
        (0.9, "BALANCED", ("ZSTD", "ZLIB")),
    ],
)
@pytest.mark.parametrize("typesize", [1, 4])
def test_codec_filter_tries_each_candidate_pipeline_and_split_once(
    tradeoff: float, mode: str, expected: tuple[str, ...], typesize: int
) -> None:
    strategy = make(tradeoff, mode, typesize=typesize)
    history = drive(strategy, flat, 200)
    trials = hard_readapts(history)[0]
    combos = [(p.codec, p.pipeline, p.splitmode) for p in trials]
    assert combos == list(
        itertools.product(expected, pipelines_for(typesize), ["ALWAYS", "NEVER"])
    )
    assert history[0][0].readapt == "HARD"


@pytest.mark.parametrize(
    ("tradeoff", "expected"),
    [
        (0.33, ("LZ4",)),
        (1 / 3, ("LZ4", "BLOSCLZ")),
        (0.66, ("LZ4", "BLOSCLZ")),
        (2 / 3, ("ZSTD", "ZLIB")),
        (1.0, ("ZSTD", "ZLIB")),
    ],
)
def test_candidate_codecs_thresholds(tradeoff: float, expected: tuple[str, ...]) -> None:
    assert candidate_codecs(tradeoff, PerformanceMode.COMP, LOSSLESS_CODECS) == expected


def test_candidate_codecs_only_available_ones() -> None:
    assert candidate_codecs(0.4, PerformanceMode.DECOMP, ["ZSTD", "LZ4HC"]) == ("LZ4HC",)
    strategy = make(0.4, "DECOMP", codecs=("LZ4", "ZSTD"))
    assert {p.codec for p in hard_readapts(drive(strategy, flat, 100))[0]} == {"LZ4"}


def test_candidate_codecs_refuse_auto_mode() -> None:
    with pytest.raises(ValueError, match="`perf_mode` must be resolved.*'AUTO'"):
        candidate_codecs(0.5, PerformanceMode.AUTO, LOSSLESS_CODECS)


def test_default_codecs_are_the_installed_ones() -> None:
    config = make_config(0.4, "DECOMP")
    strategy = GeneticStrategy(config, typesize=4, cores=1)
    codecs = {p.codec for p in hard_readapts(drive(strategy, flat, 100))[0]}
    assert codecs and codecs <= set(available_codecs())


def test_no_wanted_codec_available_falls_back_to_the_available_ones() -> None:
    strategy = make(0.9, codecs=("LZ4",))
    assert {p.codec for p in hard_readapts(drive(strategy, flat, 100))[0]} == {"LZ4"}


@pytest.mark.parametrize(
    ("mode", "strong_first"), [("COMP", 3), ("BALANCED", 3), ("DECOMP", 8)]
)
def test_strong_codecs_at_clevel_3_only_in_the_first_hard_readapt(
    mode: str, strong_first: int
) -> None:
    strategy = make(0.9, mode, nsofts_before_hard=0, nhards_before_stop=3)
    first, second, third = hard_readapts(drive(strategy, flat, 200))
    assert {p.clevel for p in first} == {strong_first}
    assert {p.clevel for p in second} == {p.clevel for p in third} == {8}


def test_fast_codecs_always_at_clevel_8() -> None:
    strategy = make(0.4, "BALANCED", nsofts_before_hard=0, nhards_before_stop=2)
    assert {
        p.clevel for trials in hard_readapts(drive(strategy, flat, 200)) for p in trials
    } == {8}


def test_trial_clevel() -> None:
    comp, decomp = PerformanceMode.COMP, PerformanceMode.DECOMP
    assert trial_clevel("ZLIB", comp, first_hard=True) == 3
    assert trial_clevel("ZLIB", comp, first_hard=False) == 8
    assert trial_clevel("ZSTD", decomp, first_hard=True) == 8
    assert trial_clevel("LZ4HC", comp, first_hard=True) == 8


def test_codec_filter_keeps_the_best_trial() -> None:
    def judge(p: Params) -> Measurement:
        good = p.codec == "BLOSCLZ" and p.pipeline is Pipeline.BITSHUFFLE
        return measure(4.0 if good and p.splitmode == "NEVER" else 2.0)

    strategy = make(0.4, cores=1, nhards_before_stop=1)
    history = drive(strategy, judge, 16)
    winners = [step.params for step, verdict in history if verdict == "W"]
    assert [p.category for p in winners] == [
        ("LZ4", Pipeline.NOFILTER, "ALWAYS"),
        ("BLOSCLZ", Pipeline.BITSHUFFLE, "NEVER"),
    ]
    assert strategy.best.category == ("BLOSCLZ", Pipeline.BITSHUFFLE, "NEVER")


# -- THREADS ---------------------------------------------------------------------------


def fewer_threads_faster(p: Params) -> Measurement:
    return measure(seconds=1e-3 * p.nthreads * p.dthreads)


@pytest.mark.parametrize(
    ("cores", "moves"),
    [(8, [6, 4, 2, 1]), (7, [5, 3, 1]), (6, [4, 2, 1]), (4, [3, 2, 1]), (2, [1])],
)
def test_threads_start_at_the_core_count_and_move_while_speed_improves(
    cores: int, moves: list[int]
) -> None:
    strategy = make(0.4, cores=cores, nhards_before_stop=1)
    history = drive(strategy, fewer_threads_faster, 100)
    trials = hard_readapts(history)[0]
    assert {p.nthreads for p in trials} == {cores}
    threads = [
        (step.params.nthreads, verdict) for step, verdict in history if step.state == "THREADS"
    ]
    assert threads == [(n, "W") for n in moves]  # stops at the bound 1
    assert strategy.best.nthreads == 1


def test_threads_turn_round_once_and_stop_at_the_second_failure() -> None:
    def peak_at_4(p: Params) -> Measurement:
        return measure(seconds=1e-3 * (1 + abs(p.nthreads - 4)))

    strategy = make(0.4, cores=8, nhards_before_stop=1)
    history = drive(strategy, peak_at_4, 100)
    threads = [
        (step.params.nthreads, verdict) for step, verdict in history if step.state == "THREADS"
    ]
    assert threads == [(6, "W"), (4, "W"), (2, "-"), (6, "-")]
    assert strategy.best.nthreads == 4


def test_threads_give_up_after_one_chunk_when_fewer_are_not_faster() -> None:
    strategy = make(0.4, cores=8, nhards_before_stop=1)
    history = drive(strategy, flat, 100)
    assert [p.nthreads for p in of_state(history, State.THREADS)] == [6]
    assert strategy.best.nthreads == 8


@pytest.mark.parametrize(
    ("mode", "moved"),
    [
        ("COMP", ("nthreads",)),
        ("DECOMP", ("dthreads",)),
        ("BALANCED", ("nthreads", "dthreads")),
    ],
)
def test_threads_that_count_depend_on_the_perf_mode(mode: str, moved: tuple[str, ...]) -> None:
    strategy = make(0.4, mode, cores=8, nhards_before_stop=1)
    history = drive(strategy, fewer_threads_faster, 100)
    steps = of_state(history, State.THREADS)
    assert steps
    for name in ("nthreads", "dthreads"):
        values = {getattr(p, name) for p in steps}
        assert (values != {8}) is (name in moved)


def test_one_core_skips_threads() -> None:
    strategy = make(0.4, cores=1, nsofts_before_hard=1, nhards_before_stop=3)
    history = drive(strategy, fewer_threads_faster, 300)
    assert strategy.finished
    assert not of_state(history, State.THREADS)
    assert all(step.params.nthreads == step.params.dthreads == 1 for step, _ in history)


# -- CLEVEL ----------------------------------------------------------------------------


def ratio_by_clevel(table: dict[int, float]) -> Judge:
    def judge(p: Params) -> Measurement:
        return measure(table[p.clevel])

    return judge


def clevel_climb(history: History, readapt: str = "HARD") -> list[tuple[int, str]]:
    return [
        (step.params.clevel, verdict)
        for step, verdict in history
        if step.state == "CLEVEL" and step.readapt == readapt
    ]


def test_clevel_climbs_two_steps_in_a_hard_readapt_up_to_the_bound() -> None:
    # tradeoff 1: objective = ln(ratio); ZSTD starts at clevel 3 (first hard, COMP)
    strategy = make(1.0, nhards_before_stop=1)
    judge = ratio_by_clevel({c: 1.0 + c for c in range(1, 10)})
    history = drive(strategy, judge, 100)
    assert clevel_climb(history) == [(5, "W"), (7, "W"), (9, "W")]
    assert strategy.best.clevel == 9
    assert strategy.finished


def test_clevel_turns_round_once_then_stops_at_the_second_failure() -> None:
    strategy = make(1.0, nhards_before_stop=1)
    judge = ratio_by_clevel({c: 10.0 - abs(c - 5) for c in range(1, 10)})
    history = drive(strategy, judge, 100)
    assert clevel_climb(history) == [(5, "W"), (7, "-"), (3, "-")]
    assert strategy.best.clevel == 5


def test_clevel_turns_round_when_the_first_step_fails() -> None:
    strategy = make(1.0, nhards_before_stop=1)
    judge = ratio_by_clevel({c: 10.0 - c for c in range(1, 10)})
    history = drive(strategy, judge, 100)
    assert clevel_climb(history) == [(5, "-"), (1, "W")]  # 1 is the bound: stop
    assert strategy.best.clevel == 1


def test_clevel_step_is_held_at_the_bound() -> None:
    # DECOMP trials ZSTD at 8: up 2 would be 10, so 9 is tried
    strategy = make(1.0, "DECOMP", nhards_before_stop=1)
    judge = ratio_by_clevel({c: 1.0 + c for c in range(1, 10)})
    assert clevel_climb(drive(strategy, judge, 100)) == [(9, "W")]


def test_speed_leaning_climbs_down_first() -> None:
    strategy = make(0.0, nhards_before_stop=1)
    history = drive(strategy, flat, 100)
    assert clevel_climb(history) == [(6, "-"), (9, "-")]


def test_clevel_climbs_one_step_in_a_soft_readapt() -> None:
    strategy = make(1.0, nsofts_before_hard=1, nhards_before_stop=2, nwaits_before_readapt=1)
    judge = ratio_by_clevel({c: 10.0 - abs(c - 6) for c in range(1, 10)})
    history = drive(strategy, judge, 200)
    # hard: 3 -> 5 W, 7 (same score as 5: no win), turn, 3 fails; soft from 5: 6 W, 7, 5
    assert clevel_climb(history, "HARD")[:3] == [(5, "W"), (7, "-"), (3, "-")]
    assert clevel_climb(history, "SOFT") == [(6, "W"), (7, "-"), (5, "-")]


# -- the schedule ----------------------------------------------------------------------


def test_waiting_chunks_before_each_readapt_but_the_first() -> None:
    strategy = make(0.4, nsofts_before_hard=1, nhards_before_stop=2, nwaits_before_readapt=3)
    history = drive(strategy, flat, 200)
    assert [(readapt, state) for readapt, state, _ in runs(history)] == [
        ("HARD", "CODEC_FILTER"),
        ("HARD", "CLEVEL"),
        ("WAIT", "WAITING"),
        ("SOFT", "CLEVEL"),
        ("WAIT", "WAITING"),
        ("HARD", "CODEC_FILTER"),
        ("HARD", "CLEVEL"),
    ]
    assert [n for _, state, n in runs(history) if state == "WAITING"] == [3, 3]
    assert strategy.finished


def test_waiting_chunks_use_the_best_and_never_win() -> None:
    strategy = make(0.4, nsofts_before_hard=2, nhards_before_stop=2, nwaits_before_readapt=2)
    best_before = strategy.best
    for _ in range(200):
        step = strategy.propose(no_probe)
        if step.state == "WAITING":
            assert step.params == best_before
            assert step.readapt == "WAIT"
        verdict = strategy.observe(step, flat(step.params))
        assert verdict == "-" or step.state != "WAITING"
        best_before = strategy.best
        if strategy.finished:
            break


@pytest.mark.parametrize(
    ("nsofts", "nhards", "expected"),
    [
        (2, 3, ["HARD", "SOFT", "SOFT", "HARD", "SOFT", "SOFT", "HARD"]),
        (0, 3, ["HARD", "HARD", "HARD"]),
        (1, 1, ["HARD"]),
    ],
)
def test_soft_and_hard_readapts_alternate_until_the_last_hard_one(
    nsofts: int, nhards: int, expected: list[str]
) -> None:
    strategy = make(
        0.4, nsofts_before_hard=nsofts, nhards_before_stop=nhards, nwaits_before_readapt=1
    )
    history = drive(strategy, flat, 500)
    assert strategy.finished
    assert readapts(history) == expected


def test_a_soft_readapt_visits_clevel_only() -> None:
    strategy = make(0.4, cores=8, nsofts_before_hard=3, nhards_before_stop=2)
    history = drive(strategy, flat, 300)
    assert {step.state for step, _ in history if step.readapt == "SOFT"} == {"CLEVEL"}
    hard_states = [state for readapt, state, _ in runs(history) if readapt == "HARD"]
    assert hard_states[:3] == ["CODEC_FILTER", "THREADS", "CLEVEL"]


def test_repeat_stop_finishes_and_serves_the_best() -> None:
    strategy = make(0.4, nsofts_before_hard=1, nhards_before_stop=2)
    drive(strategy, flat, 300)
    assert strategy.finished
    best = strategy.best
    for _ in range(20):
        step = strategy.propose(no_probe)
        assert step == Step(best, "STOP", "-")
        assert strategy.observe(step, measure(ratio=100.0)) == "-"
    assert strategy.best == best
    assert strategy.finished


def test_repeat_soft_keeps_doing_soft_readapts() -> None:
    strategy = make(
        0.4,
        nsofts_before_hard=1,
        nhards_before_stop=2,
        nwaits_before_readapt=1,
        repeat_mode=RepeatMode.SOFT,
    )
    history = drive(strategy, flat, 400)
    assert not strategy.finished
    kinds = readapts(history)
    assert kinds[:3] == ["HARD", "SOFT", "HARD"]
    assert len(kinds) > 20
    assert set(kinds[3:]) == {"SOFT"}
    assert "STOP" not in {step.state for step, _ in history}


def test_repeat_all_keeps_alternating_soft_and_hard_readapts() -> None:
    strategy = make(
        0.9,
        nsofts_before_hard=1,
        nhards_before_stop=2,
        nwaits_before_readapt=1,
        repeat_mode=RepeatMode.ALL,
    )
    history = drive(strategy, flat, 400)
    assert not strategy.finished
    kinds = readapts(history)
    assert len(kinds) > 10
    assert kinds == ["HARD", "SOFT"] * (len(kinds) // 2) + ["HARD"] * (len(kinds) % 2)
    later = hard_readapts(history)[1:]
    assert len(later) > 3
    assert {p.clevel for trials in later for p in trials} == {8}


# -- cparams_hint ----------------------------------------------------------------------

HINT = Params("ZSTD", Pipeline.BITSHUFFLE, 5, "NEVER", 1, 1)


def test_hint_run_starts_from_the_hint_with_soft_readapts() -> None:
    strategy = make(
        1.0, hint=HINT, nsofts_before_hard=2, nhards_before_stop=1, nwaits_before_readapt=1
    )
    assert strategy.best == HINT
    first = strategy.propose(no_probe)
    assert first == Step(HINT, "CLEVEL", "SOFT")  # the hint is measured before climbing
    assert strategy.observe(first, flat(HINT)) == "W"
    history = drive(strategy, flat, 200)
    assert [p.clevel for p in of_state(history, State.CLEVEL)][:2] == [6, 4]
    assert readapts([(first, "W"), *history]) == ["SOFT", "SOFT", "HARD"]
    first_hard = hard_readapts(history)[0]
    assert {p.clevel for p in first_hard} == {3}  # still the run's first hard readapt


def test_hint_at_the_bound_turns_without_spending_a_chunk() -> None:
    hint = Params("ZSTD", Pipeline.SHUFFLE, 9, "ALWAYS", 1, 1)
    strategy = make(1.0, hint=hint, nsofts_before_hard=1, nhards_before_stop=1)
    history = drive(strategy, ratio_by_clevel({c: 10.0 - c for c in range(1, 10)}), 4)
    assert [step.params.clevel for step, _ in history[:3]] == [9, 8, 7]


def test_hint_with_no_soft_readapts_starts_hard() -> None:
    strategy = make(1.0, hint=HINT, nsofts_before_hard=0)
    assert strategy.propose(no_probe).state == "CODEC_FILTER"
    assert strategy.best == HINT


@pytest.mark.parametrize(
    ("hint", "message"),
    [
        (Params("ZLIB", Pipeline.SHUFFLE, 5, "ALWAYS", 1, 1), "codec in LZ4, ZSTD"),
        (
            Params("LZ4", Pipeline.SHUFFLE, 5, "ALWAYS", 1, 3),
            r"nthreads and dthreads in 1\.\.2",
        ),
    ],
)
def test_hint_outside_the_search_space_is_refused(hint: Params, message: str) -> None:
    with pytest.raises(ValueError, match=f"`hint` must have {message}"):
        make(hint=hint, cores=2, codecs=("LZ4", "ZSTD"))


def test_hint_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(TypeError, match="`hint` must be a btune.space.Params"):
        make(hint={"codec": "LZ4"})  # type: ignore[arg-type]


# -- winning ---------------------------------------------------------------------------


def test_noise_margin_is_ln_1_05() -> None:
    assert math.isclose(NOISE_MARGIN, math.log(1.05))


@pytest.mark.parametrize(
    ("gain", "verdict"), [(1.01, "-"), (1.04, "-"), (1.06, "W"), (1.20, "W")]
)
@pytest.mark.parametrize("tradeoff", [0.0, 1.0])
def test_a_candidate_must_beat_the_best_by_the_noise_margin(
    tradeoff: float, gain: float, verdict: str
) -> None:
    strategy = make(tradeoff)
    first = strategy.propose(no_probe)
    assert strategy.observe(first, measure(2.0, 1e-3)) == "W"
    second = strategy.propose(no_probe)
    better = measure(2.0 * gain, 1e-3) if tradeoff == 1.0 else measure(2.0, 1e-3 / gain)
    assert strategy.observe(second, better) == verdict
    assert strategy.best == (second.params if verdict == "W" else first.params)


def test_storing_the_best_again_refreshes_its_score() -> None:
    strategy = make(0.0, nsofts_before_hard=1, nhards_before_stop=2, nwaits_before_readapt=1)
    step = strategy.propose(no_probe)
    while step.state != "WAITING":
        strategy.observe(step, flat(step.params))
        step = strategy.propose(no_probe)
    # the best, stored again, turns out 10 times slower: a candidate as fast as before wins
    assert strategy.observe(step, measure(seconds=1e-2)) == "-"
    candidate = strategy.propose(no_probe)
    assert candidate.state == "CLEVEL"
    assert strategy.observe(candidate, flat(candidate.params)) == "W"


def test_special_chunks_never_win() -> None:
    strategy = make(0.5)
    step = strategy.propose(no_probe)
    strategy.observe_special(measure(1000.0, 1e-6, special=True))
    assert strategy.propose(no_probe) == step
    assert strategy.observe(step, measure(1000.0, 1e-6, special=True)) == "-"
    assert strategy.propose(no_probe) == step  # nothing learnt: the same trial is pending
    assert strategy.observe(step, flat(step.params)) == "W"
    following = strategy.propose(no_probe)
    strategy.observe_special(measure(1000.0, 1e-6, special=True))
    assert strategy.observe(following, measure(1000.0, 1e-6, special=True)) == "-"
    assert strategy.best == step.params


# -- the contract, in detail -----------------------------------------------------------


def test_propose_repeats_until_observe() -> None:
    strategy = make()
    assert strategy.propose(no_probe) == strategy.propose(no_probe)


def test_observe_refuses_a_step_it_did_not_propose() -> None:
    strategy = make()
    step = strategy.propose(no_probe)
    other = Step(Params("ZSTD"), "CLEVEL", "SOFT")
    with pytest.raises(
        ValueError, match="observe\\(\\) needs the step propose\\(\\) returned"
    ):
        strategy.observe(other, flat(other.params))
    assert strategy.observe(step, flat(step.params)) == "W"


def test_initial_best_is_the_first_trial() -> None:
    strategy = make(0.9, cores=4)
    assert strategy.best == Params("ZSTD", Pipeline.NOFILTER, 3, "ALWAYS", 4, 4)
    assert strategy.propose(no_probe).params == strategy.best


def test_states_and_readapt_columns_use_the_documented_names() -> None:
    strategy = make(0.5, cores=8, nwaits_before_readapt=1, nhards_before_stop=2)
    history = drive(strategy, flat, 300)
    assert strategy.finished
    assert {step.state for step, _ in history} == {
        "CODEC_FILTER",
        "THREADS",
        "CLEVEL",
        "WAITING",
    }
    assert {step.readapt for step, _ in history} == {"HARD", "SOFT", "WAIT"}
    assert {s.value for s in State} == {"CODEC_FILTER", "THREADS", "CLEVEL", "WAITING", "STOP"}
    assert {r.value for r in Readapt} == {"HARD", "SOFT", "WAIT", "-"}


def test_name() -> None:
    assert GeneticStrategy.name == "genetic"


def test_unresolved_perf_mode_is_refused() -> None:
    config = Config(perf_mode=PerformanceMode.AUTO)
    with pytest.raises(ValueError, match="resolved config"):
        GeneticStrategy(config, typesize=4, cores=2)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"cores": 0}, ValueError, "`cores` must be an integer >= 1; got 0"),
        ({"cores": "8"}, TypeError, "`cores` must be an integer >= 1; got '8'"),
        ({"typesize": 0}, ValueError, "`typesize` must be an integer >= 1; got 0"),
        ({"codecs": ()}, ValueError, "`codecs` must name at least one codec"),
    ],
)
def test_bad_arguments_are_refused(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    arguments: dict[str, object] = {"typesize": 4, "cores": 2, **kwargs}
    with pytest.raises(error, match=message):
        GeneticStrategy(make_config(), **arguments)  # type: ignore[arg-type]
