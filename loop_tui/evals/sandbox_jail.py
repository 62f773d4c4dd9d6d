"""A minimal root for the code-scorer worker in its own mount namespace (Linux, stdlib + ctypes only).

Runs in the worker right after `unshare --mount` (with `--user` for an ordinary user, where the worker is
"root" only inside its own user namespace). It builds a fresh tmpfs root holding read-only binds of the
interpreter's library folders and a few device nodes, plus a size-capped tmpfs at /tmp as the only
writable place, then pivots into it and detaches the old root. Home, the workspace, /proc, /run and every
socket file simply do not exist in there, and the scratch tmpfs vanishes with the namespace, so a
killed eval leaves no folder behind.
"""

import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME = 1024, 2048, 1 << 21, 1 << 24
MNT_DETACH = 2
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
DEVICES = ["/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"]
NEW_ROOT = "/tmp"  # always exists; mounting over it inside our private namespace changes nothing outside


def _mount(source, target, fstype, flags, data=None):
    encode = lambda s: s.encode() if isinstance(s, str) else s  # noqa: E731
    if _libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def _locked_flags(path):
    """Flags a bind remount must keep: a user namespace may not drop nosuid/nodev/noexec/atime it inherited."""
    st_flags = os.statvfs(path).f_flag
    flags = 0
    for st_bit, ms_bit in [(2, MS_NOSUID), (4, MS_NODEV), (8, MS_NOEXEC), (1024, MS_NOATIME),
                           (2048, MS_NODIRATIME), (4096, MS_RELATIME)]:
        if st_flags & st_bit:
            flags |= ms_bit
    return flags


def _make_mountpoint(path, is_dir):
    if is_dir:
        os.makedirs(path, mode=0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        if not os.path.exists(path):
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


def build_jail(read_paths, scratch_bytes, machine):
    """Pivot into a new root with `read_paths` (read-only) and a `scratch_bytes` tmpfs at /tmp.

    Raises OSError when the kernel refuses a step, after undoing the mounts where it can (the caller then
    relies on Landlock alone, in the folder it had).
    """
    pivot_nr = _PIVOT_ROOT.get(machine)
    if pivot_nr is None:
        raise OSError(f"no pivot_root number for {machine}")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    # Hold every source open first: the new root is mounted over /tmp, which may contain some of them
    # (they are then bound through /proc/self/fd, which the new root does not cover).
    sources = []
    for path in list(read_paths) + DEVICES:
        try:
            sources.append((path, os.open(path, os.O_PATH | os.O_CLOEXEC), os.path.isdir(path)))
        except OSError:
            continue
    cwd_fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _mount("tmpfs", NEW_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,nr_inodes=4096,mode=0755")
        try:
            _fill_new_root(sources, scratch_bytes)
        except OSError:
            _libc.umount2(NEW_ROOT.encode(), MNT_DETACH)
            raise
    finally:
        for _, fd, _ in sources:
            os.close(fd)
    try:
        _pivot(pivot_nr)
    except OSError:
        _libc.umount2(NEW_ROOT.encode(), MNT_DETACH)
        os.fchdir(cwd_fd)
        raise
    finally:
        os.close(cwd_fd)
    return "/tmp"


def _fill_new_root(sources, scratch_bytes):
    # The scratch tmpfs first: read paths that live under /tmp are then bound on top of it.
    scratch = NEW_ROOT + "/tmp"
    os.makedirs(scratch, mode=0o755)
    _mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, f"size={max(scratch_bytes, 65536)},nr_inodes=4096,mode=1777")
    for path, fd, is_dir in sources:
        target = NEW_ROOT + path
        _make_mountpoint(target, is_dir)
        _mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
        try:
            _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | _locked_flags(target))
        except OSError:
            # A writable bind could sit beneath the writable /tmp (Landlock would then allow writes
            # there): leave the folder out rather than expose it read-write.
            _libc.umount2(target.encode(), MNT_DETACH)


def _pivot(pivot_nr):
    os.makedirs(NEW_ROOT + "/.old-root", mode=0o700)
    os.chdir(NEW_ROOT)
    if _libc.syscall(pivot_nr, b".", b".old-root") != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"pivot_root: {os.strerror(err)}")
    os.chdir("/")
    if _libc.umount2(b"/.old-root", MNT_DETACH) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"umount old root: {os.strerror(err)}")
    os.rmdir("/.old-root")
    try:
        _mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    except OSError:
        pass  # the tmpfs root holds only empty mount points; Landlock keeps it read-only too
    os.chdir("/tmp")
