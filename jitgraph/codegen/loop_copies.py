"""Loop-copy elision on the lowered steps: a ``while`` body ends by copying each new loop
variable into the variable's carried buffer. When the value comes from an elementwise kernel
that reads the carried buffer only at the element it writes, the kernel writes the carried
buffer in place and the copy goes. Newton's iteration ``x = 0.5 * (x + a / x)`` then moves
12 bytes per element per iteration instead of 20.

The cpu backend runs this after lowering, before buffer planning; its kernels read each
element before writing it (in vector lanes and thread slices alike, see passes/buffers.py).

    elide_loop_copies(program.steps)      # in place; returns the number of copies removed

Loop rotation (``rotate_loops``, run first): ``while c(x): x = f(x)`` evaluates ``c`` once
before the loop and again at the end of each iteration, so the condition's kernels follow
the body's in one step list, where sibling fusion (siblings.py) can join them.

    rotate_loops(program.steps)
"""

from ..passes.buffers import _loads, accesses_any, reads_at_own_index


def rotate_loops(steps):
    """Turns each ("while", pred, cond, body, mx) whose condition is kernels only into
    cond' + ("while", pred, [], body + cond, mx), cond' being copies of cond's kernels (a
    Kernel is emitted once per step). The loop's check, its iteration limit and the points
    where the condition is evaluated stay the same."""
    from dataclasses import replace

    rotated = 0
    for step in list(steps):
        if step[0] in ("cond", "while"):
            rotated += rotate_loops(step[2]) + rotate_loops(step[3])
        if step[0] != "while" or not step[2] or any(s[0] != "kernel" for s in step[2]):
            continue
        before = [("kernel", replace(s[1], name=s[1].name + "_first", siblings=[]))
                  for s in step[2]]
        i = steps.index(step)
        steps[i:i + 1] = before + [("while", step[1], [], step[3] + step[2], step[4])]
        rotated += 1
    return rotated


def elide_loop_copies(steps):
    removed = 0
    for step in steps:
        if step[0] == "cond":
            removed += elide_loop_copies(step[2]) + elide_loop_copies(step[3])
        elif step[0] == "while":
            removed += elide_loop_copies(step[2]) + elide_loop_copies(step[3])
            removed += _elide_in_body(step[3])
    return removed


def _elide_in_body(body):
    removed = 0
    c = 0
    while c < len(body):
        step = body[c]
        if step[0] != "copy" or step[1].kind != "arena" or step[2].kind != "arena":
            c += 1
            continue
        src, dst = step[1], step[2]
        w = next((i for i in range(c - 1, -1, -1) if body[i][0] == "kernel" and
                  body[i][1].out is src), None)
        if w is None:
            c += 1
            continue
        k = body[w][1]
        between, after = body[w + 1:c], body[c + 1:]
        # k writes all of src (a plain map), and src and dst hold the same loop variable
        if not k.is_plain_map or accesses_any(between, {src, dst}) or \
                accesses_any(after, {src}, writes=False) or src in _loads(k.body) or \
                not reads_at_own_index(k, dst):
            c += 1
            continue
        k.out = dst
        del body[c]
        removed += 1
    return removed


__all__ = ["elide_loop_copies", "rotate_loops"]
