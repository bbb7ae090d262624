"""Assign Starts (the draw): link entries without a start to free starts of their class.

Club separation. Runners of the same club should not start next to each other (consecutive starts
of the class; a vacant start between them separates them; entries without a club never count).
Each class is drawn in three steps:
1. Constructive draw, place by place in start order: pick at random an entry (every entry of the
   eligible clubs equally likely) whose club minimises (clash with the previous start) + (clash
   with a kept next start) + a bound on the clashes the entries still to place cannot avoid. The
   bound sums over clubs: in a run of L free places whose kept neighbours hold q runners of the
   club, ceil((L + q) / 2) − q of its runners fit apart; each runner beyond that costs 2 clashes,
   except one per run with L + q even, which costs 1. For one contiguous run this is exact (it is
   max(0, 2m − r − 1) for the largest club, m of r runners), so when the places to fill are
   contiguous (no seeding, vacancies first or last, no kept start between them) the draw has the
   fewest neighbours possible: none whenever the largest club has at most ceil(n / 2) runners.
2. Repair: swap runners within their seeding group while a swap removes a neighbour, then a short
   walk that also takes neutral swaps (out of dead ends) until the bound is met or a budget ends.
3. Fairness: up to SHUFFLE_TRIES plain shuffles are tried and the first with no more neighbours
   than steps 1–2 is kept, so when one is found every such arrangement was equally likely.
Seeding keeps its order: entries are placed in groups of equal seeding (no seeding first, best
last), each group shuffled among its own places only.

Which starts: entries that hold a start keep it (so the draw can run again after late entries),
except that a redraw first unlinks every start not set by hand. Of the free starts, the vacant
ones are the first, the last, or a random choice (mixed, chosen before the clubs are separated).
With more entries than free starts, a random choice of entries gets none and is reported. Which
entries are drawn at all (not withdrawn, not competing…) is the caller's business.
"""

from __future__ import annotations

import bisect
import random
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, cast

SHUFFLE_TRIES = 20

Token = tuple[str, Hashable]  # what makes two runners neighbours of the same club


class VacancyPlacement(StrEnum):
    FIRST = "first"
    LAST = "last"
    MIXED = "mixed"


class Seeding(StrEnum):
    NONE = "none"
    HIGHEST_LAST = "highest_last"  # e.g. ranking points: the highest value starts last
    LOWEST_LAST = "lowest_last"  # e.g. a rank: 1 starts last


@dataclass(frozen=True)
class DrawEntry:
    """An entry of the class: its club key, seeding, and the id of its current start if any."""

    id: int
    club: int | str | None = None
    seeding: float | None = None
    start: int | None = None


@dataclass(frozen=True)
class DrawStart:
    """A start of the class; `order` is its place in the start list (by time, then bib)."""

    id: int
    order: int
    hand_set: bool = False  # its entry was linked by hand: a redraw keeps it


@dataclass(frozen=True)
class DrawClass:
    id: int
    entries: Sequence[DrawEntry]
    starts: Sequence[DrawStart]
    name: str = ""


@dataclass(frozen=True)
class DrawOptions:
    seed: int | str | None = None  # None: a fresh seed, reported so the draw can be repeated
    vacancies: VacancyPlacement = VacancyPlacement.MIXED
    seeding: Seeding = Seeding.NONE
    redraw: bool = False  # unlink drawn starts first (never hand-set ones)
    separate_clubs: bool = True


@dataclass(frozen=True)
class Assignment:
    """A changed link: the start now holds this entry (None: the start became vacant)."""

    start_id: int
    entry_id: int | None


@dataclass
class ClassDraw:
    """What the draw did in one class."""

    class_id: int
    assignments: list[Assignment]
    links: dict[int, int | None]  # every start of the class → its entry after the draw
    drawn: int  # entries that got a start
    vacancies: int  # starts left without an entry
    neighbours: int  # pairs of same-club runners on consecutive starts, after the draw
    without_start: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class DrawReport:
    seed: int | str
    classes: list[ClassDraw]


def draw(classes: Sequence[DrawClass], options: DrawOptions | None = None) -> DrawReport:
    """Draw every class; each class has its own random stream derived from the seed."""
    options = options or DrawOptions()
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**32)
    return DrawReport(seed, [draw_class(c, options, seed) for c in sorted(classes, key=lambda c: c.id)])


def _token(entry: DrawEntry) -> Token:
    # Entries without a club get a token of their own, so they never clash.
    return ("club", entry.club) if entry.club is not None else ("entry", entry.id)


def draw_class(cls: DrawClass, options: DrawOptions, seed: int | str) -> ClassDraw:
    """Draw one class; the result depends only on the inputs and the seed, not on their order."""
    rng = random.Random(f"{seed}:{cls.id}")
    label = cls.name or str(cls.id)
    starts = sorted(cls.starts, key=lambda s: (s.order, s.id))
    start_ids = {s.id for s in starts}
    if len(start_ids) != len(starts):
        raise ValueError(f"class {label}: the same start is listed twice")
    entries = sorted(cls.entries, key=lambda e: e.id)
    warnings: list[str] = []
    holder: dict[int, DrawEntry] = {}
    for e in entries:
        if e.start is None:
            continue
        if e.start not in start_ids:
            warnings.append(f"entry {e.id} has a start outside class {label}; left alone")
        elif e.start in holder:
            raise ValueError(f"entries {holder[e.start].id} and {e.id} hold the same start {e.start}")
        else:
            holder[e.start] = e
    initial = {s.id: (holder[s.id].id if s.id in holder else None) for s in starts}
    hand_set = {s.id for s in starts if s.hand_set}
    if options.redraw:
        holder = {sid: e for sid, e in holder.items() if sid in hand_set}
    placed = {e.id for e in holder.values()}
    to_place = [e for e in entries if e.id not in placed and (e.start is None or e.start in start_ids)]

    free = [i for i, s in enumerate(starts) if s.id not in holder]
    without_start: list[int] = []
    if len(to_place) > len(free):
        left_out = set(rng.sample([e.id for e in to_place], len(to_place) - len(free)))
        without_start = sorted(left_out)
        to_place = [e for e in to_place if e.id not in left_out]
        warnings.append(
            f"class {label}: {len(without_start)} entries got no start, only {len(free)} free "
            f"starts: {', '.join(map(str, without_start))}"
        )
    m = len(to_place)
    vacant = len(free) - m
    if options.vacancies == VacancyPlacement.FIRST:
        targets = free[vacant:]
    elif options.vacancies == VacancyPlacement.LAST:
        targets = free[:m]
    else:
        targets = sorted(rng.sample(free, m))

    blocks: list[tuple[list[int], list[DrawEntry]]] = []
    offset = 0
    for group in _seeding_groups(to_place, options.seeding):
        blocks.append((targets[offset:offset + len(group)], group))
        offset += len(group)

    seq: list[Token | None] = [None] * len(starts)
    for i, s in enumerate(starts):
        if s.id in holder:
            seq[i] = _token(holder[s.id])
    if options.separate_clubs:
        placement = _separate(seq, blocks, rng)
    else:
        placement = {}
        for positions, group in blocks:
            placement.update(zip(positions, rng.sample(group, len(group)), strict=True))

    links = {s.id: (holder[s.id].id if s.id in holder else None) for s in starts}
    final: list[Token | None] = list(seq)
    for pos, e in placement.items():
        links[starts[pos].id] = e.id
        final[pos] = _token(e)
    neighbours = _clash_pairs(final)
    if neighbours:
        clubs = Counter(str(tok[1]) for i in neighbours if (tok := final[i]) is not None)
        warnings.append(
            f"class {label}: {len(neighbours)} same-club neighbours remain ("
            + ", ".join(f"{club}: {n}" for club, n in sorted(clubs.items())) + ")"
        )
    return ClassDraw(
        class_id=cls.id,
        assignments=[Assignment(s.id, links[s.id]) for s in starts if links[s.id] != initial[s.id]],
        links=links,
        drawn=len(placement),
        vacancies=sum(1 for v in links.values() if v is None),
        neighbours=len(neighbours),
        without_start=without_start,
        warnings=warnings,
    )


def _seeding_groups(entries: list[DrawEntry], seeding: Seeding) -> list[list[DrawEntry]]:
    """Groups of equal seeding in start order: no seeding first, the best last."""
    if seeding == Seeding.NONE:
        return [entries] if entries else []
    sign = 1 if seeding == Seeding.HIGHEST_LAST else -1
    groups: dict[tuple[bool, float], list[DrawEntry]] = {}
    for e in entries:
        key = (e.seeding is not None, sign * e.seeding if e.seeding is not None else 0.0)
        groups.setdefault(key, []).append(e)
    return [groups[k] for k in sorted(groups)]


def _clash_pairs(seq: Sequence[Token | None]) -> list[int]:
    """Positions i where i and i + 1 hold runners of the same club."""
    return [i for i in range(len(seq) - 1) if seq[i] is not None and seq[i] == seq[i + 1]]


def _run_shape(length: int, ends: int) -> tuple[int, int]:
    """For one club and a run of free places of which `ends` neighbours hold that club: how many
    of its runners fit without a clash, and whether one more costs 1 (not 2) clashes."""
    extended = length + ends
    return (extended + 1) // 2 - ends, 1 if extended % 2 == 0 else 0


def _club_cost(count: int, capacity: int, cheap: int) -> int:
    """Fewest clashes for `count` runners of a club: beyond capacity each costs 2, except one
    per run of even (extended) length, which costs 1."""
    extra = count - capacity
    if extra <= 0:
        return 0
    return extra if extra <= cheap else cheap + 2 * (extra - cheap)


def _separate(
    seq: list[Token | None], blocks: list[tuple[list[int], list[DrawEntry]]], rng: random.Random,
) -> dict[int, DrawEntry]:
    movable = sorted(pos for positions, _ in blocks for pos in positions)
    counts = Counter(_token(e) for _, group in blocks for e in group)
    floor = len(_clash_pairs(seq)) + _Bound(seq, movable, -2, counts).total
    constructed = list(seq)
    placement: dict[int, DrawEntry] = {}
    for positions, group in blocks:
        _construct(constructed, positions, group, rng, placement)
    _repair(constructed, placement, blocks, rng, floor)
    best = len(_clash_pairs(constructed))
    allowed = best - len(_clash_pairs(seq))  # the clashes between kept starts stay in any case
    tokens = [[_token(e) for e in group] for _, group in blocks]
    for _ in range(SHUFFLE_TRIES):
        trial_placement = _shuffle(seq, blocks, tokens, rng, allowed)
        if trial_placement is not None:
            return trial_placement
    return placement


def _shuffle(
    seq: list[Token | None], blocks: list[tuple[list[int], list[DrawEntry]]], tokens: list[list[Token]],
    rng: random.Random, allowed: int,
) -> dict[int, DrawEntry] | None:
    """A plain shuffle of each block over its places, built place by place in start order and given
    up (None) as soon as it has more than `allowed` clashes: a trial that is kept was drawn in full,
    so every kept arrangement stays equally likely, and most failing trials cost a few places."""
    trial = list(seq)
    placement: dict[int, DrawEntry] = {}
    clashes = 0
    end = len(seq) - 1
    for (positions, group), toks in zip(blocks, tokens, strict=True):
        pool = list(range(len(group)))
        left = len(pool)
        for pos in positions:  # blocks follow each other in start order
            j = rng.randrange(left)
            i = pool[j]
            left -= 1
            pool[j] = pool[left]
            tok = toks[i]
            # The place before is kept or placed already; the one after counts only if kept.
            if pos > 0 and trial[pos - 1] == tok:
                clashes += 1
            if pos < end and trial[pos + 1] == tok:
                clashes += 1
            if clashes > allowed:
                return None
            trial[pos] = tok
            placement[pos] = group[i]
    return placement


def _construct(
    seq: list[Token | None], positions: list[int], group: list[DrawEntry], rng: random.Random,
    placement: dict[int, DrawEntry],
) -> None:
    """Place `group` on `positions` (in start order), each place taking a club of least cost:
    clash with the previous start + clash with a kept next start + the change of the bound
    (_Bound) on the clashes the entries still to place cannot avoid.

    Same choice as evaluating _Bound for every club at every place, in time linear in the class:
    the free places form runs; only the run being filled changes as runners are placed, so the
    later runs' sums are kept (_Runs); and a club with no kept neighbour costs what its count says,
    so clubs are kept in buckets by count (_Clubs) and one cost serves a whole bucket."""
    if not positions:
        return
    pending: dict[Token, list[DrawEntry]] = {}
    for e in rng.sample(group, len(group)):
        pending.setdefault(_token(e), []).append(e)
    clubs = _Clubs({t: len(es) for t, es in pending.items()})
    runs: list[tuple[int, int]] = []
    for p in positions:
        if runs and runs[-1][1] == p - 1:
            runs[-1] = (runs[-1][0], p)
        else:
            runs.append((p, p))
    later = _Runs(seq)
    for start, end in runs[1:]:
        later.add(start, end, 1)
    for k, (start, end) in enumerate(runs):
        if k:
            later.add(start, end, -1)  # now the run being filled
        right = seq[end + 1] if end + 1 < len(seq) else None
        for pos in range(start, end + 1):
            prev = seq[pos - 1] if pos > 0 else None
            # The places after `pos` in this run: a run whose left neighbour is the placed runner.
            tok = clubs.choose(rng, later, end - pos, right, prev, right if pos == end else None)
            placement[pos] = pending[tok].pop()
            seq[pos] = tok
            clubs.take(tok)


class _Runs:
    """Capacity sums (as _Bound) of runs of free places whose neighbours are fixed."""

    def __init__(self, seq: list[Token | None]) -> None:
        self.seq = seq
        self.capacity = 0
        self.cheap = 0
        self.adjust: dict[Token, list[int]] = {}

    def add(self, start: int, end: int, sign: int) -> None:
        seq = self.seq
        length = end - start + 1
        left = seq[start - 1] if start > 0 else None
        right = seq[end + 1] if end + 1 < len(seq) else None
        cap0, cheap0 = _run_shape(length, 0)
        self.capacity += sign * cap0
        self.cheap += sign * cheap0
        for tok, ends in Counter(t for t in (left, right) if t is not None).items():
            cap, cheap = _run_shape(length, ends)
            adj = self.adjust.setdefault(tok, [0, 0])
            adj[0] += sign * (cap - cap0)
            adj[1] += sign * (cheap - cheap0)
            if adj == [0, 0]:
                del self.adjust[tok]


class _Clubs:
    """Clubs still to place and their counts, bucketed by count; every choice is weighted by
    entries (every entry of a best club equally likely), and deterministic for a given rng."""

    def __init__(self, counts: dict[Token, int]) -> None:
        self.count = dict(counts)
        self.bucket: dict[int, list[Token]] = {}
        self.index: dict[Token, int] = {}
        for tok, n in counts.items():
            self._put(tok, n)
        self.sizes = sorted(self.bucket)  # the counts that have clubs, ascending
        self.left = sum(counts.values())
        # One item per runner left (its club), for drawing a runner at random in O(1).
        self.runners: list[Token] = [tok for tok, n in counts.items() for _ in range(n)]
        self.slots: dict[Token, set[int]] = {}
        for i, tok in enumerate(self.runners):
            self.slots.setdefault(tok, set()).add(i)

    def _put(self, tok: Token, n: int) -> bool:
        b = self.bucket.get(n)
        new = b is None
        if b is None:
            b = self.bucket[n] = []
        self.index[tok] = len(b)
        b.append(tok)
        return new

    def take(self, tok: Token) -> None:
        """One runner of `tok` placed."""
        n = self.count[tok]
        b = self.bucket[n]
        i = self.index.pop(tok)
        last = b.pop()
        if last != tok:
            b[i] = last
            self.index[last] = i
        if not b:
            del self.bucket[n]
            del self.sizes[bisect.bisect_left(self.sizes, n)]
        self.left -= 1
        # Its last slot is freed: the runner in the array's last place moves there.
        free = self.slots[tok].pop()
        moved = self.runners.pop()
        if free != self.left:
            self.runners[free] = moved
            moved_slots = self.slots[moved]
            moved_slots.remove(self.left)
            moved_slots.add(free)
        if n == 1:
            del self.count[tok]
        else:
            self.count[tok] = n - 1
            if self._put(tok, n - 1):
                bisect.insort(self.sizes, n - 1)

    def choose(
        self, rng: random.Random, later: _Runs, length: int, right: Token | None,
        prev: Token | None, after: Token | None,
    ) -> Token:
        """The club for the next place: least (prev clash) + (after clash) + bound change, where
        the bound counts `later`'s runs and, if `length`, the run of that many places right after
        this one (right neighbour `right`, left neighbour the runner placed here)."""
        capacity, cheap = later.capacity, later.cheap
        if length:
            cap0, cheap0 = _run_shape(length, 0)
            cap1, cheap1 = _run_shape(length, 1)
            capacity += cap0
            cheap += cheap0
        # Clubs whose cost is not their count's: a neighbour here, or a fixed neighbour of a run.
        special: dict[Token, int] = {}
        for tok in (prev, after, right if length else None, *later.adjust):
            if tok is not None and tok in self.count and tok not in special:
                n = self.count[tok]
                cap, ch = capacity, cheap
                adj = later.adjust.get(tok)
                if adj is not None:
                    cap += adj[0]
                    ch += adj[1]
                cap_e, ch_e = cap, ch
                if length:
                    if tok == right:
                        cap2, cheap2 = _run_shape(length, 2)
                        cap += cap1 - cap0
                        ch += cheap1 - cheap0
                        cap_e, ch_e = cap + cap2 - cap1, ch + cheap2 - cheap1
                    else:
                        cap_e, ch_e = cap + cap1 - cap0, ch + cheap1 - cheap0
                special[tok] = ((tok == prev) + (tok == after)
                                + _club_cost(n - 1, cap_e, ch_e) - _club_cost(n, cap, ch))
        # Any other club: cost by count alone, 0 while both club costs are 0 (count <= threshold).
        cap_e, ch_e = (capacity + cap1 - cap0, cheap + cheap1 - cheap0) if length else (capacity, cheap)
        threshold = min(capacity, cap_e + 1)
        special_at: dict[int, int] = {}
        for t in special:
            special_at[self.count[t]] = special_at.get(self.count[t], 0) + 1
        best: int | None = None
        # (weight, kind, key): 0 a special club (key: the club), 1 a bucket (key: its count), 2 the
        # buckets at or below the threshold (cost 0) together.
        picks: list[tuple[int, int, Any]] = []
        for tok, cost in special.items():
            if best is None or cost < best:
                best, picks = cost, []
            if cost == best:
                picks.append((self.count[tok], 0, tok))
        low = self.left - sum(self.count[t] for t in special)  # less the buckets above, below
        for n in reversed(self.sizes):
            if n <= threshold:
                break
            k = len(self.bucket[n]) - special_at.get(n, 0)
            low -= n * k
            if k <= 0:
                continue
            cost = _club_cost(n - 1, cap_e, ch_e) - _club_cost(n, capacity, cheap)
            if best is None or cost < best:
                best, picks = cost, []
            if cost == best:
                picks.append((n * k, 1, n))
        if low > 0:
            if best is None or best > 0:
                best, picks = 0, []
            if best == 0:
                picks.append((low, 2, 0))
        r = rng.randrange(sum(w for w, _, _ in picks))
        for pick in picks:
            if r < pick[0]:
                break
            r -= pick[0]
        _, kind, key = pick
        if kind == 0:
            return cast(Token, key)
        if kind == 2:
            # Usually nearly every runner left is of such a club: a runner drawn at random is one.
            for _ in range(8):
                tok = self.runners[rng.randrange(self.left)]
                if tok not in special and self.count[tok] <= threshold:
                    return tok
            for n in self.sizes:
                weight = n * (len(self.bucket[n]) - special_at.get(n, 0))
                if r < weight:
                    key = n
                    break
                r -= weight
        b = self.bucket[key]
        while True:
            tok = b[rng.randrange(len(b))]
            if tok not in special:
                return tok


class _Bound:
    """Fewest clashes the entries still to place can reach among themselves and their fixed
    neighbours, summed over clubs (each club counted alone, so a lower bound; exact for one run)."""

    def __init__(
        self, seq: list[Token | None], rest: list[int], pos: int, counts: Counter[Token],
        run: tuple[int, int] | None = None,
    ) -> None:
        self.counts = counts
        runs: list[list[int]] = []
        if run is not None:
            # One unbroken run given by its ends: the common case, in O(1). Walking (and copying)
            # the rest for every placed runner made a big class quadratic.
            runs.append([run[0], run[1]])
        elif rest and rest[-1] - rest[0] == len(rest) - 1:
            runs.append([rest[0], rest[-1]])
        else:
            for p in rest:
                if runs and runs[-1][1] == p - 1:
                    runs[-1][1] = p
                else:
                    runs.append([p, p])
        self.capacity = 0
        self.cheap = 0
        self.adjust: dict[Token, list[int]] = {}
        # The run right after `pos` has the placed runner as its left neighbour.
        self.first: tuple[int, Token | None] | None = None
        for i, (start, end) in enumerate(runs):
            length = end - start + 1
            contiguous = i == 0 and start == pos + 1
            left = None if contiguous or start == 0 else seq[start - 1]
            right = seq[end + 1] if end + 1 < len(seq) else None
            if contiguous:
                self.first = (length, right)
            cap0, cheap0 = _run_shape(length, 0)
            self.capacity += cap0
            self.cheap += cheap0
            for tok, ends in Counter(t for t in (left, right) if t is not None).items():
                cap, cheap = _run_shape(length, ends)
                adj = self.adjust.setdefault(tok, [0, 0])
                adj[0] += cap - cap0
                adj[1] += cheap - cheap0
        self._memo: dict[tuple[int, int, int, bool, bool], int] = {}

    @property
    def total(self) -> int:
        return sum(self._cost(tok, n) for tok, n in self.counts.items())

    def _cost(self, tok: Token, count: int, extra_end: bool = False) -> int:
        cap_adj, cheap_adj = self.adjust.get(tok, (0, 0))
        right_is_tok = self.first is not None and self.first[1] == tok
        # Most clubs have no fixed neighbours: their cost depends only on these few numbers.
        key = (cap_adj, cheap_adj, count, extra_end, right_is_tok)
        memo = self._memo.get(key)
        if memo is not None:
            return memo
        memo = self._compute(tok, count, extra_end, cap_adj, cheap_adj)
        self._memo[key] = memo
        return memo

    def _compute(self, tok: Token, count: int, extra_end: bool, cap_adj: int, cheap_adj: int) -> int:
        capacity, cheap = self.capacity + cap_adj, self.cheap + cheap_adj
        if extra_end and self.first is not None:
            length, right = self.first
            ends = 1 if right == tok else 0
            cap_a, cheap_a = _run_shape(length, ends)
            cap_b, cheap_b = _run_shape(length, ends + 1)
            capacity += cap_b - cap_a
            cheap += cheap_b - cheap_a
        return _club_cost(count, capacity, cheap)

    def after_placing(self, tok: Token) -> int:
        """The bound once one runner of `tok` is placed at `pos`."""
        return self.total + self.change_if_placed(tok)

    def change_if_placed(self, tok: Token) -> int:
        """How the bound changes when one runner of `tok` is placed at `pos`."""
        n = self.counts[tok]
        return self._cost(tok, n - 1, extra_end=True) - self._cost(tok, n)


def _repair(
    seq: list[Token | None], placement: dict[int, DrawEntry],
    blocks: list[tuple[list[int], list[DrawEntry]]], rng: random.Random, floor: int,
) -> None:
    """Swap runners within their seeding group: first every swap that removes a clash, then a
    bounded walk that also takes neutral swaps (to get out of dead ends), until `floor` is met."""
    block_of = {pos: positions for positions, _ in blocks for pos in positions}
    clashes = set(_clash_pairs(seq))

    def pairs(a: int, b: int) -> set[int]:
        return {p for x in (a, b) for p in (x - 1, x) if 0 <= p < len(seq) - 1}

    def gain(a: int, b: int) -> int:
        around = pairs(a, b)
        before = sum(1 for p in around if p in clashes)
        seq[a], seq[b] = seq[b], seq[a]
        after = sum(1 for p in around if seq[p] is not None and seq[p] == seq[p + 1])
        seq[a], seq[b] = seq[b], seq[a]
        return before - after

    def swap(a: int, b: int) -> None:
        seq[a], seq[b] = seq[b], seq[a]
        placement[a], placement[b] = placement[b], placement[a]
        for p in pairs(a, b):
            if seq[p] is not None and seq[p] == seq[p + 1]:
                clashes.add(p)
            else:
                clashes.discard(p)

    budget = min(50 * len(block_of), 2000)
    while clashes and len(clashes) > floor and budget > 0:
        ends = [x for i in sorted(clashes) for x in (i, i + 1) if x in block_of]
        if not ends:
            return  # every clash is between starts that stay where they are
        a = rng.choice(ends)
        neutral = None
        for b in rng.sample(block_of[a], len(block_of[a])):
            budget -= 1
            if seq[b] == seq[a]:
                continue
            g = gain(a, b)
            if g > 0:
                swap(a, b)
                break
            if g == 0 and neutral is None:
                neutral = b
        else:
            budget -= len(block_of[a])  # a dead end costs more, so the walk stays short
            if neutral is not None:
                swap(a, neutral)
