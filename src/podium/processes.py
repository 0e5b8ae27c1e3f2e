"""Processes podium keeps track of by pid and start time: with both, nobody mistakes another process that later
got the pid for the one recorded (a job's runner, the process carrying out a gate).

On Linux a process's state and start time are read from ``/proc/<pid>/stat`` directly, computed as psutil computes
them (so times recorded by either agree): ``status`` and ``reconcile`` run in every command, and importing psutil
costs more than all their reads together. Elsewhere psutil answers.
"""

from __future__ import annotations

import os
import socket
import struct

ZOMBIE, STOPPED, TRACING_STOP = "zombie", "stopped", "tracing-stop"  # psutil's names of these states
_STATES = {"Z": ZOMBIE, "T": STOPPED, "t": TRACING_STOP}
_PROC = os.path.isdir("/proc/self")  # Linux's; elsewhere (macOS) psutil reads the process table
_boot: float | None = None


def process_alive(pid: int | None, created: float | None) -> bool:
    """True when ``pid`` runs and is the same process (same start time), not a zombie."""
    if not pid:
        return False
    found = state(pid)
    if found is None:
        return False
    status, started = found
    return (created is None or abs(started - created) <= 0.5) and status != ZOMBIE


def started(pid: int) -> float | None:
    """A process's start time (with its pid, its identity), or None when it is gone."""
    found = state(pid)
    return found[1] if found is not None else None


def this_process() -> tuple[int, float]:
    """This process's pid and start time."""
    pid = os.getpid()
    found = state(pid)
    assert found is not None  # this very process
    return pid, found[1]


def state(pid: int) -> tuple[str, float] | None:
    """A process's state (``zombie``, ``stopped`` or ``tracing-stop`` as psutil names them; ``running`` for any
    other) and start time, or None when there is no such process."""
    if pid <= 0:
        return None
    if not _PROC:
        return _psutil_state(pid)
    fields = _stat(pid)
    if fields is None:
        return None
    return _STATES.get(fields[0].decode(), "running"), int(fields[19]) / os.sysconf("SC_CLK_TCK") + _boot_time()


def cpu_seconds(pid: int) -> float | None:
    """The CPU time (user and system) a process has used so far, or None when it is gone."""
    if not _PROC:
        import psutil

        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            return None
        return float(times.user + times.system)
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields is not None else None


def _stat(pid: int) -> list[bytes] | None:
    """The fields of ``/proc/<pid>/stat`` after the process's name (state first), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(b")") + 2:].split()  # the name, in parentheses, may hold spaces and parentheses


def _boot_time() -> float:
    global _boot
    if _boot is None:
        with open("/proc/stat", "rb") as f:
            _boot = next(float(line.split()[1]) for line in f if line.startswith(b"btime"))
    return _boot


def _psutil_state(pid: int) -> tuple[str, float] | None:
    """Where there is no ``/proc`` (macOS)."""
    import psutil

    try:
        proc = psutil.Process(pid)
        return proc.status(), proc.create_time()
    except psutil.Error:
        return None


_NETLINK_SOCK_DIAG, _SOCK_DIAG_BY_FAMILY, _NLMSG_ERROR, _NLMSG_DONE = 4, 20, 2, 3
_INET_DIAG_INFO, _TCP_ESTABLISHED = 2, 1
_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port
_REQUEST = struct.Struct("=BBBBI48x")  # inet_diag_req_v2: family, protocol, extensions, pad, states; any socket
_MESSAGE = struct.Struct("=BBBB48xIIIII")  # inet_diag_msg: family, state, …, its socket id, …, uid, inode
_ATTRIBUTE = struct.Struct("=HH")  # rtattr: length, type
_LAST_DATA_RECV = 52  # tcp_info.tcpi_last_data_recv (ms), after 8 bytes of states and 11 u32s


def tcp_received(inodes: set[int]) -> dict[int, float] | None:
    """Seconds since each established TCP connection among these socket ``inodes`` last received data (the
    kernel's ``tcpi_last_data_recv``, ``ss -i``'s ``lastrcv``), asked of the kernel's socket diagnostics over
    netlink as ``ss`` asks it: nothing is attached to. None when this system cannot tell (not Linux, or no
    socket diagnostics)."""
    if not hasattr(socket, "AF_NETLINK"):
        return None
    found: dict[int, float] = {}
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG) as sock:
            sock.settimeout(5)
            for family in (socket.AF_INET, socket.AF_INET6):
                request = _REQUEST.pack(family, socket.IPPROTO_TCP, 1 << (_INET_DIAG_INFO - 1), 0,
                                        1 << _TCP_ESTABLISHED)
                sock.send(_HEADER.pack(_HEADER.size + len(request), _SOCK_DIAG_BY_FAMILY, 0x301, family, 0)
                          + request)  # NLM_F_REQUEST | NLM_F_DUMP
                if not _read_dump(sock, inodes, found):
                    return None
    except OSError:
        return None
    return found


def _read_dump(sock: socket.socket, inodes: set[int], found: dict[int, float]) -> bool:
    """The replies to one dump request, into ``found``; False when the kernel answered with an error."""
    while True:
        data, at = sock.recv(1 << 16), 0
        while at + _HEADER.size <= len(data):
            length, kind = _HEADER.unpack_from(data, at)[:2]
            if kind == _NLMSG_DONE:
                return True
            if kind == _NLMSG_ERROR or length < _HEADER.size:
                return False
            body, end = at + _HEADER.size, at + length
            inode = _MESSAGE.unpack_from(data, body)[-1]
            if inode in inodes:
                attr = body + _MESSAGE.size
                while attr + _ATTRIBUTE.size <= end:
                    size, kind = _ATTRIBUTE.unpack_from(data, attr)
                    if size < _ATTRIBUTE.size:
                        break
                    if kind == _INET_DIAG_INFO and size >= _ATTRIBUTE.size + _LAST_DATA_RECV + 4:
                        ms = struct.unpack_from("=I", data, attr + _ATTRIBUTE.size + _LAST_DATA_RECV)[0]
                        found[inode] = ms / 1000
                    attr += (size + 3) & ~3
            at += (length + 3) & ~3
