"""tests/reliability/synhole.py: a black hole on loopback, as a firewall that
drops packets makes one: a listener never accepted, its accept queue filled
by connections of its own, so the kernel drops every further SYN and each
connect times out. Shared by blackhole.sh and the fault soak (soak.py); kept
apart so that importing it costs nothing."""
import socket
import time


def fill_queue(l):
    """Makes the listening socket l a black hole from now on: its accept
    queue shrunk to the least (listen() again on a listening socket sets the
    backlog) and filled with connections of its own, which it never accepts.
    Returns the sockets to keep open while the hole must stay."""
    l.listen(0)
    port = l.getsockname()[1]
    held = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        held.append(c)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # full once the kernel drops a SYN (its retry waits 1 s)
        try:
            held.append(socket.create_connection(("127.0.0.1", port), timeout=0.3))
        except OSError:
            break
    return held


def black_hole():
    """Returns (port, sockets to keep open while the hole must stay)."""
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen(0)
    return l.getsockname()[1], [l] + fill_queue(l)
