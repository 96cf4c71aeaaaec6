#!/usr/bin/env python3
"""Sockets that belong to another cgroup than their process (t_outside.sh).

holder.py DIR: connects a TCP and a UDP socket to 127.0.0.2:7000 and :7001,
receives a third socket over SCM_RIGHTS on DIR/fd.sock (from a giver in
another cgroup), and touches DIR/ready. Then, each time DIR/go-N appears,
sends on each of the three and makes a new TCP connection, and writes what
happened to DIR/result-N, one "name ok" or "name ERRNAME" per line.

holder.py give DIR: connects a TCP socket to 127.0.0.2:7000 and passes it to
the holder over DIR/fd.sock.
"""
import errno
import os
import socket
import sys
import time


def give(d):
    t = socket.create_connection(("127.0.0.2", 7000))
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    u.connect(os.path.join(d, "fd.sock"))
    socket.send_fds(u, [b"x"], [t.fileno()])
    u.recv(1)  # the holder has it


def attempt(name, fn):
    try:
        fn()
        return name + " ok"
    except OSError as e:
        return name + " " + errno.errorcode.get(e.errno, str(e.errno))


def hold(d):
    tcp = socket.create_connection(("127.0.0.2", 7000))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.connect(("127.0.0.2", 7001))
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(os.path.join(d, "fd.sock"))
    srv.listen(1)
    open(os.path.join(d, "listening"), "w").close()
    c, _ = srv.accept()
    _, fds, _, _ = socket.recv_fds(c, 1, 1)
    passed = socket.socket(fileno=fds[0])
    c.send(b"k")
    open(os.path.join(d, "ready"), "w").close()
    n = 1
    while True:
        go = os.path.join(d, "go-%d" % n)
        while not os.path.exists(go):
            time.sleep(0.02)

        def fresh():
            s = socket.create_connection(("127.0.0.2", 7000), timeout=2)
            s.close()

        lines = [attempt("tcp", lambda: tcp.send(b"hello")),
                 attempt("udp", lambda: udp.send(b"hello")),
                 attempt("passed", lambda: passed.send(b"hello")),
                 attempt("new", fresh)]
        with open(os.path.join(d, "result-%d.tmp" % n), "w") as f:
            f.write("\n".join(lines) + "\n")
        os.rename(os.path.join(d, "result-%d.tmp" % n), os.path.join(d, "result-%d" % n))
        n += 1


if __name__ == "__main__":
    if sys.argv[1] == "give":
        give(sys.argv[2])
    else:
        hold(sys.argv[1])
