#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The to_names side of cgfence's tests (loopback only). One word per result:
"ok", an errno name or "timeout".

  names.py connect NAME PORT          getaddrinfo (the system resolver), then a
                                      TCP connect to each address; "ADDR=RESULT ..."
  names.py hold NAME PORT FILE        connect to an echo server by name; create FILE,
                                      wait until FILE is gone, then send and read
                                      one line: "ok" or the errno
  names.py forge NAME ADDR SPOOF [DEST [PORT]]
                                      from a UDP socket bound to 127.0.0.2:53, send
                                      an answer "NAME is ADDR" with the source
                                      address SPOOF (IP_PKTINFO) to a socket of this
                                      process, or to DEST:PORT (default port 53);
                                      "sent=RESULT received=yes|no"
  names.py teach NAME ADDR SPORT PORT from a UDP socket bound to 127.0.0.2:SPORT, send
                                      an answer "NAME is ADDR" with the source
                                      address 127.0.0.53 (IP_PKTINFO) to
                                      127.0.0.1:PORT; "sent=RESULT"
  names.py resolver ADDR ANSWER       a resolver on ADDR:53 (UDP) that answers every
                                      question, whatever bytes its name holds, with
                                      one A record ANSWER; prints "ready"
  names.py ask QNAME SERVER           the question QNAME (Python escapes, e.g. "\\n",
                                      allowed in its labels) to SERVER:53 from an
                                      unconnected socket; the A record, or "timeout"
"""
import errno
import os
import socket
import struct
import sys
import time


def err(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if e.errno else "timeout"


def connect(name, port):
    out = []
    for fam, typ, proto, _, sa in socket.getaddrinfo(name, port, type=socket.SOCK_STREAM):
        s = socket.socket(fam, typ, proto)
        s.settimeout(2)
        try:
            s.connect(sa)
            out.append("%s=ok" % sa[0])
        except OSError as e:
            out.append("%s=%s" % (sa[0], err(e)))
        finally:
            s.close()
    print(" ".join(out))


def hold(name, port, path):
    s = socket.create_connection((name, int(port)), timeout=2)
    open(path, "w").close()
    while os.path.exists(path):
        time.sleep(0.05)
    try:
        s.sendall(b"still here\n")
        data = s.recv(64)
        print("ok" if data.startswith(b"still here") else "short")
    except OSError as e:
        print(err(e))


def answer(name, addr):
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    hdr = struct.pack("!HHHHHH", 0x4242, 0x8180, 1, 1, 0, 0)
    rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + socket.inet_aton(addr)
    return hdr + q + struct.pack("!HH", 1, 1) + rr


def forge(name, addr, spoof, dest_addr=None, dest_port="53"):
    victim = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    victim.bind(("127.0.0.1", 0))
    victim.settimeout(0.5)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_IP, 15, 1)
    s.bind(("127.0.0.2", 53))
    pktinfo = struct.pack("=I4s4s", 0, socket.inet_aton(spoof), b"\0" * 4)
    try:
        s.sendmsg([answer(name, addr)], [(socket.SOL_IP, 8, pktinfo)], 0,
                  (dest_addr, int(dest_port)) if dest_addr else victim.getsockname())
        sent = "ok"
    except OSError as e:
        sent = err(e)
    try:
        data, src = victim.recvfrom(512)
        got = "yes from %s:%d" % src
    except OSError:
        got = "no"
    print("sent=%s received=%s" % (sent, got))


def teach(name, addr, sport, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_IP, 15, 1)
    s.bind(("127.0.0.2", int(sport)))
    pktinfo = struct.pack("=I4s4s", 0, socket.inet_aton("127.0.0.53"), b"\0" * 4)
    try:
        s.sendmsg([answer(name, addr)], [(socket.SOL_IP, 8, pktinfo)], 0,
                  ("127.0.0.1", int(port)))
        print("sent=ok")
    except OSError as e:
        print("sent=%s" % err(e))


def resolver(addr, ans):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    print("ready", flush=True)
    while True:
        q, peer = s.recvfrom(512)
        end = 12
        while end < len(q) and q[end]:
            end += q[end] + 1
        question = q[12:end + 5]
        hdr = struct.pack("!HHHHHH", struct.unpack("!H", q[:2])[0], 0x8180, 1, 1, 0, 0)
        rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(ans)
        s.sendto(hdr + question + rr, peer)


def ask(qname, server):
    labels = qname.encode().decode("unicode_escape").encode("latin-1").split(b".")
    q = b"".join(bytes([len(l)]) + l for l in labels) + b"\0"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.sendto(struct.pack("!HHHHHH", 0x4343, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", 1, 1),
             (server, 53))
    try:
        data = s.recv(512)
        print(socket.inet_ntoa(data[-4:]))
    except OSError:
        print("timeout")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    try:
        {"connect": connect, "hold": hold, "forge": forge, "teach": teach,
         "resolver": resolver, "ask": ask}[cmd](*args)
    except OSError as e:
        print(err(e))
