#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Forge a DNS answer to a socket of this process without a resolver, the
way a workload can in a network namespace of its own (loopback only).

  nsforge.py packet4|packet6|tun4 NAME ADDR

packet4, packet6: bind UDP 127.0.0.1:4444 ([::1]:4444), bring lo up, and
write one Ethernet frame on lo with an AF_PACKET socket: UDP from
127.0.0.53:53 ([::1]:53) carrying the answer "NAME is ADDR" (TTL 300).
(IPv4: route_localnet and accept_local on lo, which take it from 127.0.0.53.)
tun4: the same IPv4 packet written into a tun device (route_localnet and
accept_local on it, so that the kernel takes loopback addresses from it).
Prints "received" when the socket got the answer, else "timeout", then
"connect=RESULT" for a TCP connect to ADDR:8080 here (ECONNREFUSED: allowed,
nobody listens in this namespace; EPERM: denied), or the error of the step
that failed.
"""
import errno
import fcntl
import os
import socket
import struct
import subprocess
import sys


def answer(name, addr):
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    hdr = struct.pack("!HHHHHH", 0x4242, 0x8180, 1, 1, 0, 0)
    rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + socket.inet_aton(addr)
    return hdr + q + struct.pack("!HH", 1, 1) + rr


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ipv4(src, dst, payload):
    udp = struct.pack("!HHHH", 53, 4444, 8 + len(payload), 0) + payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, len(udp))
    c = csum(pseudo + udp) or 0xffff
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + udp


def ipv6(src, dst, payload):
    s, d = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
    udp = struct.pack("!HHHH", 53, 4444, 8 + len(payload), 0) + payload
    pseudo = s + d + struct.pack("!I3xB", len(udp), 17)
    c = csum(pseudo + udp) or 0xffff
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    return struct.pack("!IHBB", 6 << 28, len(udp), 17, 64) + s + d + udp


def main(mode, name, addr):
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    v6 = mode == "packet6"
    r = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
    r.bind(("::1" if v6 else "127.0.0.1", 4444))
    r.settimeout(1)
    msg = answer(name, addr)
    if mode == "tun4":
        fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"forge0", 0x0001 | 0x1000))  # TUN, NO_PI
        for k in ("route_localnet", "accept_local", "rp_filter"):
            with open("/proc/sys/net/ipv4/conf/forge0/" + k, "w") as f:
                f.write("0" if k == "rp_filter" else "1")
        subprocess.run(["ip", "link", "set", "forge0", "up"], check=True)
        os.write(fd, ipv4("127.0.0.53", "127.0.0.1", msg))
    else:
        if not v6:	# a frame from a loopback address, arriving on lo
            for k in ("route_localnet", "accept_local"):
                with open("/proc/sys/net/ipv4/conf/lo/" + k, "w") as f:
                    f.write("1")
        pkt = ipv6("::1", "::1", msg) if v6 else ipv4("127.0.0.53", "127.0.0.1", msg)
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind(("lo", 0))
        s.send(b"\0" * 12 + struct.pack("!H", 0x86DD if v6 else 0x0800) + pkt)
    try:
        r.recv(512)
        print("received")
    except OSError:
        print("timeout")
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.settimeout(1)
    try:
        c.connect((addr, 8080))
        print("connect=ok")
    except OSError as e:
        print("connect=%s" % (errno.errorcode.get(e.errno, "timeout") if e.errno else "timeout"))


if __name__ == "__main__":
    try:
        main(*sys.argv[1:])
    except (OSError, subprocess.CalledProcessError) as e:
        print("error: %s" % e)
