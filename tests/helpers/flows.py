#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""flows: datagram and connection cases for network.state, on loopback only.

    flows.py CGROUP CASE [--v6]

One process owns both sides: it makes the sockets of the outside world first,
then moves into CGROUP and makes the cgroup's socket (a socket belongs to the
cgroup of the process that made it). Prints one word: "ok" if what the case
sends arrives, "timeout" if it does not, an errno name if a call fails.

Cases (the cgroup's socket is C, outside sockets are S):
  udp-reply        C (unconnected) sends to S, S answers from the same address and port
  udp-reply-conn   the same with C connected to S
  udp-other-port   C sends to S; sockets on S's address but 40 other ports answer
  udp-other-addr   C sends to S; a socket on another address, same port, answers
  udp-unasked      a datagram arrives at C, which sent nothing
  udp-serve        S sends to C (a server in the cgroup); C answers S
  tcp-unasked      S connects to a listener in the cgroup
  raw-tcp          a raw socket of protocol TCP in the cgroup sends a packet to
                   127.0.0.65, then one to 127.0.0.66: prints both results
Ports the kernel chooses (network.bind); each prints "privileged" or
"unprivileged" for the port the kernel chose (below 1024 or not), then:
  bind0            bind() to port 0: "ok" or the errno
  listen           listen() on an unbound socket; S connects: "ok" or "timeout"
  autobind         C (unbound UDP) sends to S, then S sends to C's port:
                   the send's result, then "ok" (C got it) or "timeout"
  connect          C (unbound TCP) connects to a listener outside: "ok",
                   "timeout" or the errno
Every address is a 127.0.0.0/8 one (or ::1 with --v6).
"""
import errno
import os
import select
import socket
import sys

TIMEOUT = 0.5


def wait_recv(s):
    r, _, _ = select.select([s], [], [], TIMEOUT)
    if not r:
        return None
    return s.recvfrom(2048)


def main():
    cg, case = sys.argv[1], sys.argv[2]
    v6 = "--v6" in sys.argv
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    a1 = "::1" if v6 else "127.0.0.21"
    a2 = "::1" if v6 else "127.0.0.22"
    c_addr = "::1" if v6 else "127.0.0.1"

    def udp(addr=None):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((addr or a1, 0))
        return s

    outside = {}
    if case.startswith("udp"):
        outside["s"] = udp()
        # 40 other ports: the peer table keeps 8 buckets, and only an answer
        # that lands in the peer's bucket tests that the port is compared
        outside["other_ports"] = [udp(a1) for _ in range(40)]
        outside["other_addr"] = udp(a2) if not v6 else udp("::1")
    elif case in ("raw-tcp", "bind0"):
        pass
    elif case == "listen":
        outside["client"] = socket.socket(fam, socket.SOCK_STREAM)
        outside["client"].setblocking(False)
    elif case == "autobind":
        outside["s"] = udp()
    elif case == "connect":
        outside["l"] = socket.socket(fam, socket.SOCK_STREAM)
        outside["l"].bind((a1, 0))
        outside["l"].listen(4)
    elif case == "tcp-unasked":
        outside["client"] = socket.socket(fam, socket.SOCK_STREAM)
        outside["client"].setblocking(False)
    else:
        print("usage: unknown case", case, file=sys.stderr)
        return 2
    with open(os.path.join(cg, "cgroup.procs"), "w") as f:
        f.write("0")
    def klass(sock):
        return "privileged" if sock.getsockname()[1] < 1024 else "unprivileged"
    try:
        if case == "bind0":
            b = socket.socket(fam, socket.SOCK_DGRAM)
            try:
                b.bind((c_addr, 0))
                print(klass(b), "ok")
            except OSError as e:
                print("-", errno.errorcode.get(e.errno, str(e.errno)))
            return 0
        if case == "listen":
            l = socket.socket(fam, socket.SOCK_STREAM)
            l.listen(4)
            cl = outside["client"]
            try:
                cl.connect((c_addr, l.getsockname()[1]))
            except BlockingIOError:
                pass
            _, w, _ = select.select([], [cl], [], TIMEOUT)
            ok = bool(w) and cl.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
            print(klass(l), "ok" if ok else "timeout")
            return 0
        if case == "autobind":
            c = socket.socket(fam, socket.SOCK_DGRAM)
            try:
                c.sendto(b"x", outside["s"].getsockname()[:2])
                sent = "sent"
            except OSError as e:
                sent = errno.errorcode.get(e.errno, str(e.errno))
            outside["s"].sendto(b"y", (c_addr, c.getsockname()[1]))
            print(klass(c), sent, "ok" if wait_recv(c) else "timeout")
            return 0
        if case == "connect":
            c = socket.socket(fam, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect(outside["l"].getsockname()[:2])
            except BlockingIOError:
                pass
            except OSError as e:
                print(klass(c), errno.errorcode.get(e.errno, str(e.errno)))
                return 0
            _, w, _ = select.select([], [c], [], TIMEOUT)
            ok = bool(w) and c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
            print(klass(c), "ok" if ok else "timeout")
            return 0
        if case == "raw-tcp":
            r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
            hdr = bytes(20)	# a TCP header of zeros: the kernel adds the IP header
            out = []
            for dst in ("127.0.0.65", "127.0.0.66"):
                try:
                    r.sendto(hdr, (dst, 0))
                    out.append("ok")
                except OSError as e:
                    out.append(errno.errorcode.get(e.errno, str(e.errno)))
            print(" ".join(out))
            return 0
        if case == "tcp-unasked":
            l = socket.socket(fam, socket.SOCK_STREAM)
            l.bind((c_addr, 0))
            l.listen(8)
            cl = outside["client"]
            try:
                cl.connect(l.getsockname()[:2])
            except BlockingIOError:
                pass
            _, w, _ = select.select([], [cl], [], TIMEOUT)
            ok = bool(w) and cl.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
            print("ok" if ok else "timeout")
            return 0
        c = socket.socket(fam, socket.SOCK_DGRAM)
        c.bind((c_addr, 0))
        s = outside["s"]
        if case == "udp-unasked":
            s.sendto(b"hi", c.getsockname()[:2])
            print("ok" if wait_recv(c) else "timeout")
            return 0
        if case == "udp-serve":
            s.sendto(b"ask", c.getsockname()[:2])
            got = wait_recv(c)
            if not got:
                print("timeout")
                return 0
            c.sendto(b"answer", got[1])
            print("ok" if wait_recv(s) else "timeout")
            return 0
        if case == "udp-reply-conn":
            c.connect(s.getsockname()[:2])
            c.send(b"ask")
        else:
            c.sendto(b"ask", s.getsockname()[:2])
        got = wait_recv(s)
        if not got:
            print("lost")
            return 0
        answerers = {"udp-other-port": outside["other_ports"],
                     "udp-other-addr": [outside["other_addr"]]}.get(case, [s])
        for a in answerers:
            a.sendto(b"answer", got[1])
        print("ok" if wait_recv(c) else "timeout")
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
