"""Sibling fusion on the lowered steps: an elementwise kernel over the same dims as a full
reduction runs inside the reduction's loop (``Kernel.siblings``), so data both read is read
once. The Huber loss and its gradient are such a pair: ``mean(h(p - t))`` and
``h'(p - t) / n`` become one pass over ``p`` and ``t`` instead of two.

Graph-level fusion (passes/fusion.py) makes single-output kernels; this runs on the cpu
backend's step list before buffer planning, so liveness sees the merged kernel. Dims must
be provably equal: equal constants, or the same run-time quantity (sizes of ``None`` dims
of different values are separate quantities, so those kernels stay apart).

A map whose output the reduction itself reads, at the element it computes, joins it too:
the reduction then uses the map's value instead of loading it back (after loop rotation,
loop_copies.py, the Newton update and the next iteration's convergence test are one pass).

    merge_siblings(program.steps)     # in place; returns the number of kernels merged
"""

from ..passes.buffers import _loads, accesses_any, reads_at_own_index


def _full_reduction(k):
    return (k.is_reduction and len(k.reduce_axes) == len(k.dims) and
            k.combiner in ("add", "mul", "max", "min", "or", "and") and
            getattr(k, "phases", None) is None and k.out_index is None)


def _same_dims(a, b):
    return len(a) == len(b) and all(x is y or (isinstance(x, int) and x == y)
                                    for x, y in zip(a, b))


def merge_siblings(steps):
    """Moves each plain elementwise kernel into a full reduction over the same dims (the
    map then runs where the reduction runs) when nothing between them reads its output or
    writes its inputs; recurses into cond/while bodies."""
    merged = 0
    for step in steps:
        if step[0] in ("cond", "while"):
            merged += merge_siblings(step[2]) + merge_siblings(step[3])
    i = 0
    while i < len(steps):
        step = steps[i]
        if step[0] != "kernel" or not _full_reduction(step[1]):
            i += 1
            continue
        r = step[1]
        j = 0
        while j < len(steps):
            m = steps[j][1] if steps[j][0] == "kernel" else None
            if m is None or m is r or not m.is_plain_map or not _same_dims(r.dims, m.dims) \
                    or not _can_merge(steps, i, j, r, m):
                j += 1
                continue
            if m.out in _loads(r.body):  # r consumes m's value: computed once, not loaded
                r.body = _substitute(r.body, m.out, m.body, {})
            r.siblings.append(m)
            del steps[j]
            merged += 1
            if j < i:
                i -= 1
        i += 1
    return merged


def _can_merge(steps, i, j, r, m):
    m_reads, r_reads = set(_loads(m.body)), set(_loads(r.body))
    for sk in r.siblings:
        r_reads.update(_loads(sk.body))
    r_writes = {r.out} | {sk.out for sk in r.siblings}
    if m.out in r_reads and not _consumes(steps, i, j, r, m):
        return False
    if m.out in r_writes or r.out in m_reads or any(sk.out in m_reads for sk in r.siblings):
        return False
    # m runs at r's place: nothing between the two may write what m reads or touch m's
    # output
    between = steps[min(i, j) + 1:max(i, j)]
    return not accesses_any(between, m_reads, reads=False) and \
        not accesses_any(between, {m.out})


def _consumes(steps, i, j, r, m):
    """Whether r (at i) may use m's (at j) value in place of its loads of m's output: m runs
    first, only r's own body reads that output, at the element r is at."""
    if j > i or m.out_dtype.name not in ("float32", "float64", "int32", "int64") or \
            any(m.out in _loads(sk.body) for sk in r.siblings):
        return False
    return reads_at_own_index(r, m.out, m.out_dtype.np.itemsize)


def _substitute(e, storage, value, memo):
    """Expression ``e`` with every Load of ``storage`` replaced by expression ``value``."""
    from .kernels import Apply, Guard, Load

    r = memo.get(id(e))
    if r is not None:
        return r
    if isinstance(e, Load) and e.storage is storage:
        r = value
    elif isinstance(e, Load) and e.index is not None:
        r = Load(e.storage, e.dtype, e.strides, e.offset,
                 _substitute(e.index, storage, value, memo))
    elif isinstance(e, Apply):
        r = Apply(e.lower, e.dtype, [_substitute(a, storage, value, memo) for a in e.args],
                  e.attrs)
    elif isinstance(e, Guard):
        r = Guard(_substitute(e.index, storage, value, memo), e.size, e.code)
    else:
        r = e
    memo[id(e)] = r
    return r


__all__ = ["merge_siblings"]
