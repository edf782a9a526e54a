"""Buffer planning: every intermediate gets an offset in one arena; buffers whose live
ranges do not overlap share memory.

Liveness comes from the lowered step list (codegen/lower.py): a step reads and writes
Storages; a Storage lives from its first access to its last. A loop (``while`` step) keeps
every buffer it touches that was written before the loop alive until the loop ends, since
the next iteration reads it again. Placement is greedy first-fit in order of first use,
aligned to 64 bytes (one cache line, the widest vector load); an elementwise kernel writes
over an input that dies there when it reads that input only at the element it writes.

    intervals = liveness(program.steps)          # Storage -> [first, last]
    offsets, total = place(intervals, sizes)      # sizes: Storage -> bytes
"""

ALIGN = 64


def _accesses(step):
    """(reads, writes, nested step lists) of one step."""
    kind = step[0]
    if kind == "kernel":
        k = step[1]
        reads = _loads(k.body)
        if k.out_index is not None:  # a scatter reads its indices too
            _loads(k.out_index, reads)
        for sk in k.siblings:
            _loads(sk.body, reads)
        return reads, k.stores, []
    if kind == "copy":
        return [step[1]], [step[2]], []
    if kind == "call":
        return list(step[1].reads), list(step[1].writes), []
    if kind == "cond":
        return [step[1]], [], [step[2], step[3]]
    if kind == "while":
        return [step[1]], [], [step[2], step[3]]
    raise ValueError(f"unknown step {kind!r}")


def _loads(expr, out=None):
    """The Storages kernel expression ``expr`` loads from (appended to ``out``)."""
    out = [] if out is None else out
    for storage, lds in loads_by_storage(expr).items():
        out.extend([storage] * len(lds))
    return out


def liveness(steps):
    """Storage -> [first, last] step positions (arena storages only)."""
    live = {}
    counter = [0]

    def touch(s):
        if s.kind != "arena":
            return
        pos = counter[0]
        r = live.get(s)
        if r is None:
            live[s] = [pos, pos]
        else:
            r[1] = max(r[1], pos)

    def walk(steps):
        for step in steps:
            counter[0] += 1
            reads, writes, nested = _accesses(step)
            for s in reads + writes:
                touch(s)
            if not nested:
                continue
            start = counter[0]
            inner = set()
            before = dict((s, r[0]) for s, r in live.items())
            for sub in nested:
                walk(sub)
            counter[0] += 1
            end = counter[0]
            if step[0] == "while":
                for s, r in live.items():
                    if r[1] >= start and before.get(s, end) < start:
                        inner.add(s)
                for s in inner:
                    live[s][1] = end

    walk(steps)
    return live


def _aligned(n):
    return (max(int(n), 1) + ALIGN - 1) // ALIGN * ALIGN


def place(intervals, sizes, in_place=None):
    """First-fit offsets for buffers with live ``intervals`` and byte ``sizes``; returns
    (offsets dict, arena size). ``in_place`` maps a kernel's output to an input it may
    overwrite (``in_place_pairs``): the output takes that input's bytes when the input dies
    at that kernel and is at least as large."""
    in_place = in_place or {}
    order = sorted(intervals, key=lambda s: (intervals[s][0], -sizes[s]))
    placed = []  # (offset, end_offset, last_use, storage)
    offsets = {}
    total = 0
    for s in order:
        first, last = intervals[s]
        size = _aligned(sizes[s])
        src = in_place.get(s)
        off = None
        if src in offsets and intervals[src][1] == first and _aligned(sizes[src]) >= size:
            o = offsets[src]
            if not any(p is not src and lu >= first and a < o + size and o < e
                       for a, e, lu, p in placed):
                off = o
        if off is None:
            busy = sorted((o, e) for o, e, lu, _ in placed if lu >= first)
            off = 0
            for o, e in busy:
                if off + size <= o:
                    break
                off = max(off, e)
        offsets[s] = off
        placed.append((off, off + size, last, s))
        total = max(total, off + size)
    return offsets, total


def in_place_pairs(steps):
    """{kernel output: input Storage} for elementwise kernels that read that input only at
    the element they write (same index, same item size, no gather): writing the output
    over the input is then safe element by element, in vector lanes and thread slices."""
    pairs = {}
    for step in steps:
        if step[0] == "kernel":
            src = _overwritable_input(step[1])
            if src is not None:
                pairs[step[1].out] = src
        elif step[0] in ("cond", "while"):
            for sub in step[2:4]:
                pairs.update(in_place_pairs(sub))
    return pairs


def loads_by_storage(expr):
    """{Storage: [Load, ...]} of every Load in kernel expression ``expr`` (gather indices
    included)."""
    from ..codegen.kernels import Load, subexpressions

    loads = {}
    for e in subexpressions(expr):
        if isinstance(e, Load):
            loads.setdefault(e.storage, []).append(e)
    return loads


def contiguous_strides(k):
    """Element strides of kernel ``k``'s contiguous output (row-major over its dims); for a
    rank-1 kernel of unknown length [1]; None for other unknown dims."""
    if all(isinstance(d, int) for d in k.dims):
        ident, acc = [], 1
        for d in reversed(k.dims):
            ident.append(acc)
            acc *= d
        return ident[::-1]
    return [1] if len(k.dims) == 1 else None


def at_own_index(k, loads, ident, size=None):
    """Whether every Load in ``loads`` reads the element kernel ``k`` writes at the same
    iteration (item size ``size``, default the output's; no offset, no gather index, the
    output's strides except on size-1 dims)."""
    size = k.out_dtype.np.itemsize if size is None else size
    return all(ld.index is None and ld.offset == 0 and ld.dtype.np.itemsize == size and
               all(st == i or (isinstance(d, int) and d == 1)
                   for st, i, d in zip(ld.strides, ident, k.dims))
               for ld in loads)


def reads_at_own_index(k, storage, size=None):
    """Whether kernel ``k`` reads ``storage`` only at the element it is at (or not at all)."""
    ident = contiguous_strides(k)
    return ident is not None and at_own_index(k, loads_by_storage(k.body).get(storage, []),
                                              ident, size)


def accesses_any(steps, storages, reads=True, writes=True):
    """Whether a step of ``steps`` (nested ones included) reads (``reads``) or writes
    (``writes``) one of ``storages``."""
    for step in steps:
        r, w, nested = _accesses(step)
        if (reads and any(s in storages for s in r)) or \
                (writes and any(s in storages for s in w)):
            return True
        if any(accesses_any(sub, storages, reads, writes) for sub in nested):
            return True
    return False


def _overwritable_input(k):
    if not k.plain or k.is_reduction or k.out_strides is not None or k.out_index is not None or \
            k.accumulate or k.out.kind != "arena" or k.out_offset != 0 or \
            not all(isinstance(d, int) for d in k.dims):
        return None
    ident = contiguous_strides(k)
    for s, lds in loads_by_storage(k.body).items():
        if s.kind == "arena" and s is not k.out and at_own_index(k, lds, ident):
            return s
    return None


__all__ = ["liveness", "place", "in_place_pairs", "loads_by_storage", "contiguous_strides",
           "at_own_index", "reads_at_own_index", "accesses_any", "ALIGN"]
