"""Persistent on-disk compile cache: a second process skips LLVM compilation.

Owns the cache directory, the key and the entry format. The key is the
sha256 of the graph's stable text (attributes included), the target (CPU
name and features), the jitgraph version plus a fingerprint of the compiler's
own source (so editing a pass or the code generator invalidates entries),
the llvmlite/LLVM versions and the entry format. An entry is::

    b"JGC1" | u32 header length | header (JSON) | payload

with the header holding the key, versions, payload size and sha256 and the
caller's metadata. Writes go to a temporary file in the same directory and
are renamed into place, so readers never see a partial entry. An entry that
is truncated, corrupt, for another key or written by other versions is
reported as a miss (and removed), never loaded.

Directory: ``$JITGRAPH_CACHE_DIR`` or ``~/.cache/jitgraph``. Size: at most
``$JITGRAPH_CACHE_MAX_MB`` (default 512) MB; past that, the least recently used
entries are removed (a hit refreshes an entry's time) until it is down to 3/4.

Example::

    from jitgraph.codegen import cache
    k = cache.key(str(graph), cache.host_target())
    obj = cache.get(k)
    if obj is None:
        obj = target_machine.emit_object(module)
        cache.put(k, obj, {"entry": "jg_main"})
"""

import functools
import hashlib
import json
import os
import struct
import tempfile

__all__ = ["key", "get", "get_entry", "put", "evict", "max_bytes", "cache_dir", "host_target",
           "versions"]

MAGIC = b"JGC1"
FORMAT = 1
_HEADER_LEN = struct.Struct("<I")
_MAX_HEADER = 1 << 20


def cache_dir():
    """The cache directory (created on first write): $JITGRAPH_CACHE_DIR or ~/.cache/jitgraph."""
    d = os.environ.get("JITGRAPH_CACHE_DIR")
    return d if d else os.path.join(os.path.expanduser("~"), ".cache", "jitgraph")


@functools.lru_cache(maxsize=None)
def _source_fingerprint():
    """sha256 over the compiler's source files: codegen/ and passes/."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    h = hashlib.sha256()
    for sub in ("codegen", "passes"):
        folder = os.path.join(root, sub)
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else ():
            if name.endswith(".py"):
                h.update(name.encode())
                with open(os.path.join(folder, name), "rb") as f:
                    h.update(f.read())
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=None)
def versions():
    """Versions an entry depends on: {"jitgraph": ..., "llvmlite": ..., "llvm": ..., ...}."""
    import llvmlite
    import llvmlite.binding as llvm

    import jitgraph

    return {
        "format": FORMAT,
        "jitgraph": "%s+%s" % (jitgraph.__version__, _source_fingerprint()),
        "llvmlite": llvmlite.__version__,
        "llvm": ".".join(map(str, llvm.llvm_version_info)),
    }


@functools.lru_cache(maxsize=None)
def host_target():
    """'cpu-name;+feature,...' for this machine, the target part of a key."""
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    return "%s;%s;%s" % (
        llvm.get_process_triple(),
        llvm.get_host_cpu_name(),
        llvm.get_host_cpu_features().flatten(),
    )


def key(graph_text, target=None):
    """Cache key (hex sha256) for a graph's stable text compiled for `target`.

    Example: ``key(str(graph))`` uses the host CPU; pass ``target`` for another.
    """
    h = hashlib.sha256()
    parts = [
        graph_text,
        target if target is not None else host_target(),
        json.dumps(versions(), sort_keys=True),
    ]
    for part in parts:
        data = part.encode() if isinstance(part, str) else bytes(part)
        h.update(struct.pack("<Q", len(data)))
        h.update(data)
    return h.hexdigest()


def _path(k):
    if not (isinstance(k, str) and len(k) == 64 and all(c in "0123456789abcdef" for c in k)):
        raise ValueError("cache key must be a hex sha256 from cache.key(), got %r" % (k,))
    return os.path.join(cache_dir(), k[:2], k + ".jgc")


def put(k, data, meta=None):
    """Store `data` (bytes) under key `k` atomically; returns the entry's path.

    Example: ``put(key(text), obj_bytes, {"entry": "main"})``.
    """
    data = bytes(data)
    header = json.dumps(
        {
            "key": k,
            "versions": versions(),
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "meta": meta or {},
        },
        sort_keys=True,
    ).encode()
    path = _path(k)
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".jgc", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + _HEADER_LEN.pack(len(header)) + header + data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic: readers see the old entry or the whole new one
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    evict()
    return path


def max_bytes():
    return int(float(os.environ.get("JITGRAPH_CACHE_MAX_MB", "512")) * (1 << 20))


def evict(limit=None):
    """Removes the least recently used entries while the cache holds more than ``limit``
    bytes (default max_bytes()), down to 3/4 of it. Returns the number removed."""
    limit = max_bytes() if limit is None else limit
    entries, total = [], 0
    root = cache_dir()
    try:
        folders = os.listdir(root)
    except OSError:
        return 0
    for sub in folders:
        try:
            names = os.listdir(os.path.join(root, sub))
        except OSError:
            continue
        for name in names:
            if name.endswith(".jgc") and not name.startswith(".tmp-"):
                path = os.path.join(root, sub, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                entries.append((st.st_mtime, st.st_size, path))
                total += st.st_size
    if total <= limit:
        return 0
    removed = 0
    for _, size, path in sorted(entries):
        if total <= limit * 3 // 4:
            break
        try:
            os.unlink(path)
        except OSError:
            continue
        total -= size
        removed += 1
    return removed


def _parse(k, blob):
    """(data, meta) if blob is a valid entry for k written by these versions, else None."""
    head = len(MAGIC) + _HEADER_LEN.size
    if len(blob) < head or blob[: len(MAGIC)] != MAGIC:
        return None
    (hlen,) = _HEADER_LEN.unpack_from(blob, len(MAGIC))
    if hlen > _MAX_HEADER or len(blob) < head + hlen:
        return None
    try:
        header = json.loads(blob[head : head + hlen])
    except ValueError:
        return None
    data = blob[head + hlen :]
    ok = (
        isinstance(header, dict)
        and header.get("key") == k
        and header.get("versions") == versions()
        and header.get("size") == len(data)
        and header.get("sha256") == hashlib.sha256(data).hexdigest()
    )
    return (data, header.get("meta", {})) if ok else None


def get_entry(k):
    """(data, meta) for key `k`, or None on a miss (absent, corrupt, truncated, stale)."""
    path = _path(k)
    try:
        with open(path, "rb") as f:
            ident = os.fstat(f.fileno()).st_ino
            blob = f.read()
    except OSError:
        return None
    entry = _parse(k, blob)
    if entry is not None:
        try:
            os.utime(path)  # recently used: evicted last
        except OSError:
            pass
    if entry is None:
        try:  # drop the bad entry unless a writer has just replaced it
            if os.stat(path).st_ino == ident:
                os.unlink(path)
        except OSError:
            pass
    return entry


def get(k):
    """The bytes stored under key `k`, or None. Example: ``get(key(str(graph)))``."""
    entry = get_entry(k)
    return None if entry is None else entry[0]
