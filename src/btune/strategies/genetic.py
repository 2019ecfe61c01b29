"""The genetic search: the chunk-by-chunk tuning that users of the original Btune know.

Every chunk is stored once, with the parameters this strategy proposes, and its
measurement teaches the search (the ``probe`` of :meth:`GeneticStrategy.propose` is
never called).  The search moves through these states (DESIGN: "How the tuning
works"):

- ``CODEC_FILTER`` (hard readapt only): every candidate codec (see
  :func:`candidate_codecs`) x filter pipeline (:func:`btune.space.pipelines_for`)
  x split mode (``ALWAYS``, ``NEVER``), one chunk each, at the clevel of
  :func:`trial_clevel` and the best thread counts so far.
- ``THREADS`` (hard readapt only, skipped with one core): a climb of the thread count
  that counts -- compression threads in ``COMP``, decompression threads
  (``Params.dthreads``) in ``DECOMP``, both together in ``BALANCED`` -- in steps of
  2 (of 1 on machines with :data:`SMALL_MACHINE_CORES` cores or fewer) within
  1..cores.  The run starts at the core count; each climb starts from the best's
  count and goes down first (up if the count is already 1).
- ``CLEVEL``: a climb of the compression level within 1..9, 2 steps at a time in a
  hard readapt and 1 in a soft one.  Ratio-leaning runs (tradeoff >= 0.5) climb
  up first, speed-leaning ones down first.
- ``WAITING``: chunks stored with the best parameters, unchanged.
- ``STOP``: tuning is over (:attr:`GeneticStrategy.finished`); the best parameters
  serve every remaining chunk.

Both climbs follow one rule.  A step that does not win turns the climb round, once;
the next step that does not win ends it, and so does a winning step that lands on a
bound.  A direction that a bound blocks before any step is taken (a climb starting
at 9, say) turns the climb round without spending a chunk.

The schedule: a run starts with a hard readapt (``CODEC_FILTER``, ``THREADS``,
``CLEVEL``) -- or, given a ``hint``, from the hint with soft readapts (``CLEVEL``
only) -- then alternates ``nsofts_before_hard`` soft readapts with one hard readapt
until ``nhards_before_stop`` hard readapts are done.  ``nwaits_before_readapt``
``WAITING`` chunks come before every readapt but the run's first (before it there
is nothing measured to wait with).  Then ``repeat_mode`` decides: ``STOP`` enters
``STOP``; ``SOFT`` repeats soft readapts forever; ``ALL`` keeps alternating soft
and hard readapts forever.  The first hard readapt of the run is the only one whose
strong codecs are tried at clevel 3 (see :func:`trial_clevel`), also under ``ALL``.

Winning: a measured chunk is scored with :meth:`Strategy.score` (the objective,
higher is better).  It wins -- its parameters become :attr:`GeneticStrategy.best`
and :meth:`GeneticStrategy.observe` answers ``"W"`` -- when it beats the best's
score by more than :data:`NOISE_MARGIN`, or when nothing has been measured yet.  A
chunk stored with the best parameters themselves (a ``WAITING`` chunk, or a
candidate equal to the best) never wins; it replaces the best's score, so the
reference follows the data instead of keeping one lucky timing for ever.  Special
chunks teach nothing: :meth:`Strategy.observe_special` ignores them, and a special
measurement passed to :meth:`GeneticStrategy.observe` leaves the same step pending.

Everything is decided from the measurements alone: no clock, no environment, no
randomness, so the same measurements give the same proposals.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Iterable

from btune.config import Config, PerformanceMode, RepeatMode
from btune.objective import Measurement
from btune.space import FAST_CODECS, STRONG_CODECS, Params, available_codecs, pipelines_for
from btune.strategies.base import Probe, Step, Strategy

__all__ = [
    "NOISE_MARGIN",
    "GeneticStrategy",
    "Readapt",
    "State",
    "candidate_codecs",
    "trial_clevel",
]

#: How much higher (in objective units, i.e. natural log) a candidate must score than
#: the best to replace it: ln(1.05), so the candidate's ratio**tradeoff *
#: speed**(1 - tradeoff) must be more than 5 % above the best's.  A 1 % gain never
#: wins; a 20 % gain wins at once.  DESIGN measured identical few-millisecond timings
#: differing by up to 1.5x, which no margin that still lets real gains through can
#: absorb on a single chunk; against the rest of that noise the search refreshes the
#: best's score whenever the best itself is stored again, so one lucky timing does not
#: hold the lead.  Note: 5 % is a judgement, not yet tuned with ``btune bench``.
NOISE_MARGIN = math.log(1.05)

#: The clevel of CODEC_FILTER trials ...
TRIAL_CLEVEL = 8
#: ... except the strong codecs during the run's first hard readapt in COMP and BALANCED.
FIRST_HARD_STRONG_CLEVEL = 3

#: Tradeoffs from here up try the strong codecs only.
RATIO_LEANING = 2 / 3
#: Tradeoffs below this try LZ4 (and LZ4HC when reading counts) without BLOSCLZ.
SPEED_LEANING = 1 / 3

#: Split modes every CODEC_FILTER candidate is tried with.
SPLIT_MODES = ("ALWAYS", "NEVER")

CLEVEL_MIN = 1
CLEVEL_MAX = 9
HARD_CLEVEL_STEP = 2
SOFT_CLEVEL_STEP = 1

#: Machines with this many cores or fewer move thread counts by 1 instead of 2.
SMALL_MACHINE_CORES = 4

#: CLEVEL climbs start upwards from this tradeoff on, downwards below it.
CLIMB_UP_FROM = 0.5

_READING_MODES = (PerformanceMode.DECOMP, PerformanceMode.BALANCED)
_RESOLVED_MODES = (PerformanceMode.COMP, PerformanceMode.DECOMP, PerformanceMode.BALANCED)


class State(enum.Enum):
    """The states of the search; ``Step.state`` holds the value."""

    CODEC_FILTER = "CODEC_FILTER"
    THREADS = "THREADS"
    CLEVEL = "CLEVEL"
    WAITING = "WAITING"
    STOP = "STOP"


class Readapt(enum.Enum):
    """The trace's Readapt column; ``Step.readapt`` holds the value (``"-"`` in STOP)."""

    HARD = "HARD"
    SOFT = "SOFT"
    WAIT = "WAIT"
    NONE = "-"


def _check_mode(perf_mode: PerformanceMode) -> None:
    if perf_mode not in _RESOLVED_MODES:
        msg = (
            f"`perf_mode` must be resolved to COMP, DECOMP or BALANCED; got {perf_mode.name!r}"
        )
        raise ValueError(msg)


def candidate_codecs(
    tradeoff: float, perf_mode: PerformanceMode, available: Iterable[str]
) -> tuple[str, ...]:
    """The codecs a hard readapt tries, in trial order, among ``available``.

    Ratio-leaning runs (tradeoff >= 2/3) try ZSTD and ZLIB; the others try LZ4, joined
    by BLOSCLZ from tradeoff 1/3 on, and by LZ4HC when reading speed counts (perf mode
    DECOMP or BALANCED).  The result may be empty if ``available`` lacks them all.
    """
    _check_mode(perf_mode)
    wanted: tuple[str, ...]
    if tradeoff >= RATIO_LEANING:
        wanted = STRONG_CODECS
    else:
        wanted = tuple(c for c in FAST_CODECS if c != "BLOSCLZ" or tradeoff >= SPEED_LEANING)
        if perf_mode in _READING_MODES:
            wanted += ("LZ4HC",)
    present = set(available)
    return tuple(codec for codec in wanted if codec in present)


def trial_clevel(codec: str, perf_mode: PerformanceMode, *, first_hard: bool) -> int:
    """The clevel a CODEC_FILTER trial of ``codec`` runs at.

    8, except ZSTD and ZLIB at 3 during the run's first hard readapt in COMP and
    BALANCED (at 8 they compress slowly, and writing speed counts there).
    """
    _check_mode(perf_mode)
    if first_hard and codec in STRONG_CODECS and perf_mode is not PerformanceMode.DECOMP:
        return FIRST_HARD_STRONG_CLEVEL
    return TRIAL_CLEVEL


@dataclasses.dataclass
class _Climb:
    """A hill-climb of one integer within lo..hi; ``centre`` is the best's value."""

    centre: int
    lo: int
    hi: int
    step: int
    direction: int  # +1 or -1
    turned: bool = False
    done: bool = False

    def __post_init__(self) -> None:
        if self.candidate == self.centre:  # the bound blocks this way: turn at no cost
            self._turn_or_stop()

    @property
    def candidate(self) -> int:
        """The next value to try: one step on, held inside the bounds."""
        return min(self.hi, max(self.lo, self.centre + self.direction * self.step))

    def record(self, won: bool) -> None:
        """Learn whether :attr:`candidate` beat the best."""
        if won:
            self.centre = self.candidate
            if self.centre in (self.lo, self.hi):
                self.done = True
            return
        self._turn_or_stop()

    def _turn_or_stop(self) -> None:
        if self.turned:
            self.done = True
            return
        self.turned = True
        self.direction = -self.direction
        if self.candidate == self.centre:
            self.done = True


class GeneticStrategy(Strategy):
    """The search of the original Btune plugin: see the module docstring.

    ``codecs`` restricts the codecs to choose from (default: those the installed
    blosc2 offers, :func:`btune.space.available_codecs`).  A ``hint`` must lie in the
    search space: a codec of ``codecs``, clevel 1..9 and thread counts 1..``cores``.

    Note: when none of the codecs that the tradeoff asks for is available, hard
    readapts try every available codec instead.
    """

    name = "genetic"

    def __init__(
        self,
        config: Config,
        *,
        typesize: int,
        cores: int,
        hint: Params | None = None,
        nbytes: int | None = None,
        seed: int = 0,
        codecs: Iterable[str] | None = None,
    ) -> None:
        super().__init__(
            config, typesize=typesize, cores=cores, hint=hint, nbytes=nbytes, seed=seed
        )
        self._available = tuple(available_codecs() if codecs is None else codecs)
        if not self._available:
            msg = "`codecs` must name at least one codec; got none"
            raise ValueError(msg)
        mode = config.perf_mode
        self._codecs = candidate_codecs(config.tradeoff, mode, self._available)
        if not self._codecs:
            self._codecs = self._available
        self._pipelines = pipelines_for(typesize)
        self._thread_fields: tuple[str, ...] = {
            PerformanceMode.COMP: ("nthreads",),
            PerformanceMode.DECOMP: ("dthreads",),
            PerformanceMode.BALANCED: ("nthreads", "dthreads"),
        }[mode]
        self._thread_step = 1 if cores <= SMALL_MACHINE_CORES else 2

        # The best so far, and its latest score (None until a chunk is measured).
        if hint is None:
            codec = self._codecs[0]
            first = trial_clevel(codec, mode, first_hard=True)
            self._best = Params(codec, self._pipelines[0], first, SPLIT_MODES[0], cores, cores)
        else:
            self._check_hint(hint)
            self._best = hint
        self._best_score: float | None = None

        # Where the run is.
        self._hards_done = 0
        self._softs_since_hard = 0
        self._state = State.WAITING
        self._readapt = Readapt.NONE
        self._trials: list[Params] = []
        self._trial_index = 0
        self._climb: _Climb | None = None
        self._waits_left = 0
        self._queued = Readapt.HARD
        starts_soft = hint is not None and config.behaviour.nsofts_before_hard > 0
        self._start_readapt(Readapt.SOFT if starts_soft else Readapt.HARD)
        self._pending = self._make_step()

    def _check_hint(self, hint: Params) -> None:
        if not isinstance(hint, Params):
            msg = f"`hint` must be a btune.space.Params or None; got {type(hint).__name__}"
            raise TypeError(msg)
        problems = []
        if hint.codec not in self._available:
            problems.append(f"codec in {', '.join(self._available)}")
        if not (hint.nthreads <= self.cores and hint.dthreads <= self.cores):
            problems.append(f"nthreads and dthreads in 1..{self.cores}")
        if problems:
            msg = f"`hint` must have {'; '.join(problems)}; got {hint!r}"
            raise ValueError(msg)

    # -- the Strategy interface ------------------------------------------------------

    @property
    def best(self) -> Params:
        return self._best

    @property
    def finished(self) -> bool:
        return self._state is State.STOP

    def propose(self, probe: Probe) -> Step:
        """The pending step; asking again before :meth:`observe` gives the same one."""
        return self._pending

    def observe(self, step: Step, m: Measurement) -> str:
        """Score the chunk stored with ``step`` and move the search on."""
        if step != self._pending:
            msg = (
                f"observe() needs the step propose() returned, {self._pending!r}; got {step!r}"
            )
            raise ValueError(msg)
        if m.special:
            self.observe_special(m)
            return "-"

        # Judge the chunk against the best.
        unmeasured = self._best_score is None
        won = self._judge(step.params, self.score(m))

        # Advance the state that proposed it.
        if self._state is State.CODEC_FILTER:
            self._trial_index += 1
            if self._trial_index == len(self._trials):
                self._start_threads()
        elif self._state in (State.THREADS, State.CLEVEL) and not unmeasured:
            climb = self._climb
            assert climb is not None
            climb.record(won)
            if climb.done and self._state is State.THREADS:
                self._start_clevel()
            elif climb.done:
                self._end_readapt()
        elif self._state is State.WAITING:
            self._waits_left -= 1
            if self._waits_left == 0:
                self._start_readapt(self._queued)

        self._pending = self._make_step()
        return "W" if won else "-"

    # -- judging -----------------------------------------------------------------------

    def _judge(self, params: Params, score: float) -> bool:
        """Whether ``params`` scoring ``score`` is a new best; update the best if so."""
        if self._best_score is None:
            self._best, self._best_score = params, score
            return True
        if params == self._best:
            self._best_score = score
            return False
        if score > self._best_score + NOISE_MARGIN:
            self._best, self._best_score = params, score
            return True
        return False

    # -- the schedule ------------------------------------------------------------------

    def _next_readapt(self) -> Readapt | None:
        """The kind of the next readapt, or None when the run stops."""
        behaviour = self.config.behaviour
        if self._hards_done >= behaviour.nhards_before_stop:
            if behaviour.repeat_mode is RepeatMode.STOP:
                return None
            if behaviour.repeat_mode is RepeatMode.SOFT:
                return Readapt.SOFT
        if self._softs_since_hard >= behaviour.nsofts_before_hard:
            return Readapt.HARD
        return Readapt.SOFT

    def _start_readapt(self, kind: Readapt) -> None:
        self._readapt = kind
        if kind is Readapt.SOFT:
            self._start_clevel()
            return
        first_hard = self._hards_done == 0
        mode = self.config.perf_mode
        best = self._best
        self._trials = [
            Params(
                codec,
                pipeline,
                trial_clevel(codec, mode, first_hard=first_hard),
                split,
                best.nthreads,
                best.dthreads,
            )
            for codec in self._codecs
            for pipeline in self._pipelines
            for split in SPLIT_MODES
        ]
        self._trial_index = 0
        self._state = State.CODEC_FILTER

    def _start_threads(self) -> None:
        if self.cores > 1:
            value = getattr(self._best, self._thread_fields[0])
            direction = -1 if value > 1 else 1
            climb = _Climb(value, 1, self.cores, self._thread_step, direction)
            if not climb.done:
                self._climb = climb
                self._state = State.THREADS
                return
        self._start_clevel()

    def _start_clevel(self) -> None:
        step = HARD_CLEVEL_STEP if self._readapt is Readapt.HARD else SOFT_CLEVEL_STEP
        direction = 1 if self.config.tradeoff >= CLIMB_UP_FROM else -1
        climb = _Climb(self._best.clevel, CLEVEL_MIN, CLEVEL_MAX, step, direction)
        if climb.done:
            self._end_readapt()
            return
        self._climb = climb
        self._state = State.CLEVEL

    def _end_readapt(self) -> None:
        if self._readapt is Readapt.HARD:
            self._hards_done += 1
            self._softs_since_hard = 0
        else:
            self._softs_since_hard += 1
        self._climb = None
        kind = self._next_readapt()
        if kind is None:
            self._state = State.STOP
            self._readapt = Readapt.NONE
            return
        nwaits = self.config.behaviour.nwaits_before_readapt
        if nwaits == 0:
            self._start_readapt(kind)
            return
        self._queued = kind
        self._waits_left = nwaits
        self._state = State.WAITING
        self._readapt = Readapt.WAIT

    # -- the next step -----------------------------------------------------------------

    def _make_step(self) -> Step:
        state = self._state
        params = self._best
        if state is State.CODEC_FILTER:
            params = self._trials[self._trial_index]
        elif state in (State.THREADS, State.CLEVEL) and self._best_score is not None:
            # (With nothing measured yet -- a hint run -- the best itself goes first.)
            climb = self._climb
            assert climb is not None
            if state is State.CLEVEL:
                params = dataclasses.replace(params, clevel=climb.candidate)
            else:
                value, moves = climb.candidate, self._thread_fields
                params = dataclasses.replace(
                    params,
                    nthreads=value if "nthreads" in moves else params.nthreads,
                    dthreads=value if "dthreads" in moves else params.dthreads,
                )
        return Step(params, state.value, self._readapt.value)
