"""Buffer planning: every intermediate gets an offset in one arena; buffers whose live
ranges do not overlap share memory.

Liveness comes from the lowered step list (codegen/lower.py): a step reads and writes
Storages; a Storage lives from its first access to its last. A loop (``while`` step) keeps
every buffer it touches that was written before the loop alive until the loop ends, since
the next iteration reads it again. Placement is greedy first-fit in order of first use,
aligned to 64 bytes (one cache line, the widest vector load).

    intervals = liveness(program.steps)          # Storage -> [first, last]
    offsets, total = place(intervals, sizes)      # sizes: Storage -> bytes
"""

ALIGN = 64


def _accesses(step):
    """(reads, writes, nested step lists) of one step."""
    kind = step[0]
    if kind == "kernel":
        k = step[1]
        return _loads(k.body), [k.out], []
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
    from ..codegen.kernels import Apply, Guard, Load

    out = [] if out is None else out
    stack = [expr]
    seen = set()
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, Load):
            out.append(e.storage)
            if e.index is not None:
                stack.append(e.index)
        elif isinstance(e, Apply):
            stack.extend(e.args)
        elif isinstance(e, Guard):
            stack.append(e.index)
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


def place(intervals, sizes):
    """First-fit offsets for buffers with live ``intervals`` and byte ``sizes``; returns
    (offsets dict, arena size)."""
    order = sorted(intervals, key=lambda s: (intervals[s][0], -sizes[s]))
    placed = []  # (offset, end_offset, last_use)
    offsets = {}
    total = 0
    for s in order:
        first, last = intervals[s]
        size = max(int(sizes[s]), 1)
        size = (size + ALIGN - 1) // ALIGN * ALIGN
        busy = sorted((o, e) for o, e, lu in placed if lu >= first)
        off = 0
        for o, e in busy:
            if off + size <= o:
                break
            off = max(off, e)
        offsets[s] = off
        placed.append((off, off + size, last))
        total = max(total, off + size)
    return offsets, total


__all__ = ["liveness", "place", "ALIGN"]
