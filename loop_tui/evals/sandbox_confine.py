"""Kernel confinement for a code-scorer call: seccomp, Landlock and capabilities (Linux, stdlib + ctypes only).

Loaded by sandbox_worker.py by file path (the worker runs `python -I`, so it imports nothing of ours by
name). The worker builds everything once, before any user code exists in any process; each call's child
then applies it to itself with a few syscalls, right before the user's code runs:

- seccomp: no sockets, no ptrace or cross-process memory access, signals only to itself, no fork or exec,
  no mounts or new namespaces, no kernel-facing extras (bpf, io_uring, keyrings, perf). Denied calls fail
  with EPERM, so user code sees an ordinary PermissionError.
- Landlock: reads only beneath the interpreter's library folders, reads and writes only in the scratch
  folder, no TCP, and (ABI >= 6) no signals or abstract Unix sockets outside the sandbox's own domain.
- capabilities: all dropped, so a child that is "root" in its user namespace holds no privilege there.

Everything here is best-effort per layer and reports what it applied; the worker decides whether the
layers it got are enough (sandbox_worker.py).
"""

import ctypes
import os
import platform
import struct

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

_ARCH = platform.machine()
# Syscall numbers for the two architectures we filter; elsewhere seccomp is reported unavailable.
_X86_64: dict[str, int | None] = {
    "audit_arch": 0xC000003E, "socket": 41, "socketpair": 53, "ptrace": 101, "process_vm_readv": 310,
    "process_vm_writev": 311, "kill": 62, "tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129,
    "rt_tgsigqueueinfo": 297, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
    "unshare": 272, "setns": 308, "fork": 57, "vfork": 58, "clone": 56, "clone3": 435, "execve": 59,
    "execveat": 322, "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321, "perf_event_open": 298,
    "userfaultfd": 323, "open_by_handle_at": 304, "name_to_handle_at": 303, "kexec_load": 246,
    "kexec_file_load": 320, "init_module": 175, "finit_module": 313, "delete_module": 176, "setsid": 112,
    "setpgid": 109, "acct": 163, "swapon": 167, "swapoff": 168, "reboot": 169,
    "capset": 126, "landlock_create_ruleset": 444, "landlock_add_rule": 445,
    "landlock_restrict_self": 446,
}
_AARCH64: dict[str, int | None] = {  # None: no such call on this machine
    "audit_arch": 0xC00000B7, "socket": 198, "socketpair": 199, "ptrace": 117, "process_vm_readv": 270,
    "process_vm_writev": 271, "kill": 129, "tkill": 130, "tgkill": 131, "rt_sigqueueinfo": 138,
    "rt_tgsigqueueinfo": 240, "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51, "unshare": 97,
    "setns": 268, "fork": None, "vfork": None, "clone": 220, "clone3": 435, "execve": 221, "execveat": 281,
    "keyctl": 219, "add_key": 217, "request_key": 218, "bpf": 280, "perf_event_open": 241,
    "userfaultfd": 282, "open_by_handle_at": 265, "name_to_handle_at": 264, "kexec_load": 104,
    "kexec_file_load": 294, "init_module": 105, "finit_module": 273, "delete_module": 106, "setsid": 157,
    "setpgid": 154, "acct": 89, "swapon": 224, "swapoff": 225, "reboot": 142,
    "capset": 91, "landlock_create_ruleset": 444, "landlock_add_rule": 445,
    "landlock_restrict_self": 446,
}
SYSCALLS: dict[str, int | None] = {"x86_64": _X86_64, "aarch64": _AARCH64}.get(_ARCH, {})  # empty: unknown machine
# Numbers shared by every architecture (the "generic" table, 424+).
_GENERIC_DENIED = {
    "pidfd_send_signal": 424, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "pidfd_open": 434, "pidfd_getfd": 438, "mount_setattr": 442,
}
_DENIED = [
    "socket", "socketpair", "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2",
    "pivot_root", "chroot", "unshare", "setns", "fork", "vfork", "execve", "execveat", "keyctl", "add_key",
    "request_key", "bpf", "perf_event_open", "userfaultfd", "open_by_handle_at", "name_to_handle_at",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "setsid", "setpgid",
    "acct", "swapon", "swapoff", "reboot",
]
# Signal syscalls whose first argument is the target: allowed only when it is the caller itself.
_SELF_ONLY = ["kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"]

CLONE_THREAD = 0x00010000
# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME
CLONE_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x80
EPERM, ENOSYS = 1, 38
_RET_ALLOW, _RET_KILL_PROCESS = 0x7FFF0000, 0x80000000
_RET_EPERM, _RET_ENOSYS = 0x00050000 | EPERM, 0x00050000 | ENOSYS
_LD_W_ABS, _JEQ_K, _JGE_K, _JSET_K, _RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
_OFF_NR, _OFF_ARCH, _OFF_ARG0 = 0, 4, 16


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _errno_error(what):
    err = ctypes.get_errno()
    return OSError(err, f"{what}: {os.strerror(err)}")


def seccomp_program(pid):
    """The BPF filter for a child whose pid is `pid` (signals are allowed to itself only)."""
    table = SYSCALLS
    program = [
        (_LD_W_ABS, 0, 0, _OFF_ARCH),
        (_JEQ_K, 1, 0, table["audit_arch"]),
        (_RET_K, 0, 0, _RET_KILL_PROCESS),  # another ABI (e.g. x32 or compat) could dodge the numbers below
        (_LD_W_ABS, 0, 0, _OFF_NR),
    ]
    if _ARCH == "x86_64":
        program += [(_JGE_K, 0, 1, 0x40000000), (_RET_K, 0, 0, _RET_EPERM)]  # the x32 ABI
    numbers = [table[name] for name in _DENIED if table.get(name) is not None]
    numbers += list(_GENERIC_DENIED.values())
    for number in numbers:
        program += [(_JEQ_K, 0, 1, number), (_RET_K, 0, 0, _RET_EPERM)]
    for name in _SELF_ONLY:
        program += [
            (_JEQ_K, 0, 4, table[name]),
            (_LD_W_ABS, 0, 0, _OFF_ARG0),
            (_JEQ_K, 0, 1, pid),
            (_RET_K, 0, 0, _RET_ALLOW),
            (_RET_K, 0, 0, _RET_EPERM),
        ]
    program += [
        # Threads are fine; a new process or a new namespace is not.
        (_JEQ_K, 0, 5, table["clone"]),
        (_LD_W_ABS, 0, 0, _OFF_ARG0),
        (_JSET_K, 0, 2, CLONE_THREAD),
        (_JSET_K, 1, 0, CLONE_NAMESPACES),
        (_RET_K, 0, 0, _RET_ALLOW),
        (_RET_K, 0, 0, _RET_EPERM),
        # clone3 passes its flags in memory a filter cannot read: ENOSYS makes libc fall back to clone.
        (_JEQ_K, 0, 1, table["clone3"]),
        (_RET_K, 0, 0, _RET_ENOSYS),
        (_RET_K, 0, 0, _RET_ALLOW),
    ]
    return program


def seccomp_available():
    """True when this architecture is one we filter and the kernel has seccomp (PR_GET_SECCOMP works)."""
    return bool(SYSCALLS) and _libc.prctl(21, 0, 0, 0, 0) >= 0  # PR_GET_SECCOMP


class SeccompFilter:
    """The filter built once in the worker; each child only writes its own pid in and installs it."""

    _PID_PLACEHOLDER = 0xFFFFFFFF

    def __init__(self):
        program = seccomp_program(self._PID_PLACEHOLDER)
        self._filters = (_SockFilter * len(program))(*[_SockFilter(*ins) for ins in program])
        self._pid_slots = [i for i, ins in enumerate(program) if ins[3] == self._PID_PLACEHOLDER]
        self._fprog = _SockFprog(len(program), self._filters)

    def install(self, pid):
        """Install on the calling (single-threaded) process; raises OSError if the kernel refuses."""
        for slot in self._pid_slots:
            self._filters[slot].k = pid
        if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise _errno_error("no_new_privs")
        if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(self._fprog), 0, 0) != 0:
            raise _errno_error("seccomp")


# --- Landlock ---------------------------------------------------------------------------------------
_LL_EXECUTE, _LL_WRITE_FILE, _LL_READ_FILE, _LL_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_LL_FILE_RIGHTS_V1 = _LL_EXECUTE | _LL_WRITE_FILE | _LL_READ_FILE
_LL_TRUNCATE, _LL_IOCTL_DEV, _LL_REFER = 1 << 14, 1 << 15, 1 << 13
_LL_NET_BIND_TCP, _LL_NET_CONNECT_TCP = 1, 2
_LL_SCOPE_ABSTRACT_UNIX, _LL_SCOPE_SIGNAL = 1, 2
READ_RIGHTS = _LL_EXECUTE | _LL_READ_FILE | _LL_READ_DIR


def landlock_abi():
    """The kernel's Landlock ABI version, or 0 when Landlock is missing or disabled."""
    if not SYSCALLS:
        return 0
    version = _libc.syscall(SYSCALLS["landlock_create_ruleset"], None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(0, int(version))


def _fs_rights(abi):
    rights = (1 << 13) - 1  # ABI 1: execute … make_sym
    if abi >= 2:
        rights |= _LL_REFER
    if abi >= 3:
        rights |= _LL_TRUNCATE
    if abi >= 5:
        rights |= _LL_IOCTL_DEV
    return rights


def landlock_ruleset(read_paths, write_paths):
    """A ruleset fd allowing reads beneath `read_paths` and everything beneath `write_paths`, or None.

    Build it before user code exists; each child restricts itself with `landlock_restrict(fd)`.
    """
    abi = landlock_abi()
    if abi < 1:
        return None, 0
    handled_fs = _fs_rights(abi)
    handled_net = (_LL_NET_BIND_TCP | _LL_NET_CONNECT_TCP) if abi >= 4 else 0
    scoped = (_LL_SCOPE_ABSTRACT_UNIX | _LL_SCOPE_SIGNAL) if abi >= 6 else 0
    attr = struct.pack("=QQQ", handled_fs, handled_net, scoped)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    buffer = ctypes.create_string_buffer(attr, len(attr))
    fd = _libc.syscall(SYSCALLS["landlock_create_ruleset"], buffer, ctypes.c_size_t(size), ctypes.c_uint32(0))
    if fd < 0:
        raise _errno_error("landlock_create_ruleset")
    file_rights = handled_fs & (_LL_FILE_RIGHTS_V1 | _LL_TRUNCATE | _LL_IOCTL_DEV)
    rules = [(p, READ_RIGHTS) for p in read_paths] + [(p, handled_fs) for p in write_paths]
    for path, rights in rules:
        try:
            target = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if not os.path.isdir(path):
                rights &= file_rights  # a rule on a file may only carry file rights
            rule = ctypes.create_string_buffer(struct.pack("=Qi", rights & handled_fs, target), 12)
            if _libc.syscall(SYSCALLS["landlock_add_rule"], fd, 1, rule, 0) != 0:
                raise _errno_error(f"landlock_add_rule {path}")
        finally:
            os.close(target)
    return fd, abi


def landlock_restrict(ruleset_fd):
    """Confine the calling process to the ruleset (needs no_new_privs, set here)."""
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise _errno_error("no_new_privs")
    if _libc.syscall(SYSCALLS["landlock_restrict_self"], ruleset_fd, 0) != 0:
        raise _errno_error("landlock_restrict_self")


# --- process attributes -------------------------------------------------------------------------------
def drop_capabilities():
    """Clear every capability set (effective, permitted, inheritable) and the bounding set."""
    for cap in range(64):
        if _libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP; stops at the first unknown cap
            break
    header = struct.pack("=Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = bytes(24)  # two zeroed __user_cap_data_struct
    if _libc.syscall(SYSCALLS["capset"], ctypes.create_string_buffer(header, 8), ctypes.create_string_buffer(data, 24)) != 0:
        raise _errno_error("capset")


def set_dumpable(flag):
    """PR_SET_DUMPABLE: 0 hides /proc/<pid>/{environ,mem} from same-uid processes and forbids ptrace."""
    return _libc.prctl(PR_SET_DUMPABLE, 1 if flag else 0, 0, 0, 0) == 0


def die_with_parent(signum):
    """Ask the kernel to send `signum` to this process when its parent exits."""
    return _libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0
