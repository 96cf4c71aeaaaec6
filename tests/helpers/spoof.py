#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""UDP with a source of the sender's choosing (loopback only), for cgfence's
connection-state tests. One line of words per run.

  spoof.py victim ADDR PORT SECONDS   count the datagrams that reach ADDR:PORT
                                      (SO_REUSEADDR) for SECONDS: "got=N"
  spoof.py attack4 | attack4c | attack6
      socket S asks socket R (both here) to answer a peer that never asked:
      attack4:  S bound to 127.0.0.2:9000 sends to R with IP_PKTINFO source
                127.0.0.3 (sendmsg, unconnected);
      attack4c: the same from S connected to R (a control message makes the
                kernel run the sendmsg hook all the same);
      attack6:  S with IPV6_FREEBIND bound to [::2]:9000 (no packet ever goes
                there) sends to R with IPV6_PKTINFO source ::1.
      R then sends 3 datagrams to the source it saw.
      "send=RESULT seen=ADDR:PORT|timeout replies=N" (N: sends R made
      without an error)
  spoof.py answers ADDR PORT          a server bound to the wildcard on PORT
                                      answers (IP_PKTINFO from the address it
                                      was asked at) each datagram, twice: one
                                      reply with the chosen source, one without;
                                      runs until killed; prints "ready"
  spoof.py ask ADDR PORT              from 127.0.0.3:9100 (SO_REUSEADDR), one
                                      datagram to ADDR:PORT: "answers=N" within
                                      a second
"""
import errno
import select
import socket
import struct
import sys
import time

SOL_IPV6 = 41
IPV6_PKTINFO = 50
IPV6_RECVPKTINFO = 49
IPV6_FREEBIND = 78
IP_PKTINFO = 8


def err(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if e.errno else "timeout"


def victim(addr, port, secs):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    print("ready", flush=True)
    n, end = 0, time.time() + float(secs)
    while time.time() < end:
        r, _, _ = select.select([s], [], [], max(0.0, end - time.time()))
        if r:
            s.recv(512)
            n += 1
    print("got=%d" % n)


def attack(mode):
    v6 = mode == "attack6"
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    r = socket.socket(fam, socket.SOCK_DGRAM)
    r.bind(("::1" if v6 else "127.0.0.1", 0))
    r.settimeout(1)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if v6:
        s.setsockopt(SOL_IPV6, IPV6_FREEBIND, 1)
        s.bind(("::2", 9000))
        cmsg = [(SOL_IPV6, IPV6_PKTINFO,
                 socket.inet_pton(socket.AF_INET6, "::1") + struct.pack("=I", 0))]
    else:
        s.bind(("127.0.0.2", 9000))
        cmsg = [(socket.SOL_IP, IP_PKTINFO,
                 struct.pack("=I4s4s", 0, socket.inet_aton("127.0.0.3"), b"\0" * 4))]
    try:
        if mode == "attack4c":
            s.connect(r.getsockname())
            s.sendmsg([b"ask"], cmsg)
        else:
            s.sendmsg([b"ask"], cmsg, 0, r.getsockname())
        sent = "ok"
    except OSError as e:
        sent = err(e)
    try:
        _, src = r.recvfrom(512)
        seen = "%s:%d" % src[:2]
    except OSError:
        print("send=%s seen=timeout replies=0" % sent)
        return
    n = 0
    for _ in range(3):
        try:
            r.sendto(b"answer", src)
            n += 1
        except OSError:
            pass
    print("send=%s seen=%s replies=%d" % (sent, seen, n))


def answers(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_IP, IP_PKTINFO, 1)
    s.bind(("0.0.0.0", int(port)))
    print("ready", flush=True)
    while True:
        data, anc, _, peer = s.recvmsg(512, 256)
        dst = next((struct.unpack("=I4s4s", d)[2] for lvl, t, d in anc
                    if lvl == socket.SOL_IP and t == IP_PKTINFO), None)
        for cm in ([(socket.SOL_IP, IP_PKTINFO, struct.pack("=I4s4s", 0, dst, b"\0" * 4))], []):
            try:
                s.sendmsg([b"answer"], cm, 0, peer)
            except OSError:
                pass


def ask(addr, port):
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    c.bind(("127.0.0.3", 9100))
    c.sendto(b"ask", (addr, int(port)))
    n, end = 0, time.time() + 1
    while time.time() < end:
        r, _, _ = select.select([c], [], [], max(0.0, end - time.time()))
        if r:
            c.recv(512)
            n += 1
    print("answers=%d" % n)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd.startswith("attack"):
        attack(cmd)
    else:
        {"victim": victim, "answers": answers, "ask": ask}[cmd](*args)
