/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The DNS answer parser, one step at a time: the cgroup's ingress program
 * runs it under bpf_loop(), user space (unit tests, the fuzzer, the bench)
 * in a plain loop, so both run the same code. Every read of the answer is
 * masked into buf and checked against len; a step that meets anything it
 * does not expect ends the parse as BAD, and a record that does not fit in
 * what was read ends it as DONE with the addresses found so far.
 *
 * What it takes from an answer: the question name, as the key of the names
 * trie (abi.h: lower case, labels reversed, each followed by a dot, then a
 * NUL), and the address of each A and AAAA record of class IN in the
 * answer section, whatever its owner name (the question decides: a CNAME
 * chain's target is in the same answer), with its TTL. The header must say
 * a response (QR), a standard query, NOERROR and one question.
 */
#ifndef CGFENCE_DNS_H
#define CGFENCE_DNS_H

#include "abi.h"

enum cgf_dns_phase {
	CGF_DNS_HDR = 0,
	CGF_DNS_QNAME,		/* the question's labels, one per step */
	CGF_DNS_KEY,		/* the key, one byte per step */
	CGF_DNS_ANAME,		/* a record's owner name, one label per step */
	CGF_DNS_RR,		/* a record's fixed part and data */
	CGF_DNS_DONE,
	CGF_DNS_BAD,
};

struct cgf_dns_addr {
	__u32 addr[4];		/* IPv4 as ::ffff:a.b.c.d */
	__u32 ttl;
};

struct cgf_dns_parse {
	__u8 buf[CGF_DNS_BUF];
	__u32 len;		/* bytes in buf */
	__u32 off;		/* where the next step reads */
	__u32 phase;		/* enum cgf_dns_phase */
	__u32 rrs;		/* answer records left */
	__u32 nlabels;
	__u32 cur, loff, kp;	/* key: label, byte in it, bytes written */
	__u32 naddr;
	__u16 lstart[CGF_DNS_LABELS];
	__u8 llen[CGF_DNS_LABELS];
	struct cgf_dns_addr addr[CGF_DNS_ADDRS];
	struct cgf_name_key key;
};

#define CGF_DNS_B(p, o) ((__u32)(p)->buf[(o) & (CGF_DNS_BUF - 1)])
#define CGF_DNS_U16(p, o) (CGF_DNS_B(p, o) << 8 | CGF_DNS_B(p, (o) + 1))

static __always_inline long cgf_dns_stop(struct cgf_dns_parse *p, __u32 phase)
{
	p->phase = phase;
	return 1;
}

static __always_inline long cgf_dns_hdr(struct cgf_dns_parse *p)
{
	__u32 flags = CGF_DNS_U16(p, 2), an = CGF_DNS_U16(p, 6);

	if (p->len < 12 || p->len > CGF_DNS_BUF)
		return cgf_dns_stop(p, CGF_DNS_BAD);
	/* a response (QR), opcode QUERY, rcode NOERROR, one question */
	if (!(flags & 0x8000) || (flags & 0x7800) || (flags & 0xf) || CGF_DNS_U16(p, 4) != 1)
		return cgf_dns_stop(p, CGF_DNS_BAD);
	p->rrs = an > CGF_DNS_RRS ? CGF_DNS_RRS : an;
	p->off = 12;
	p->phase = CGF_DNS_QNAME;
	return 0;
}

/* One label of the question (no compression pointers there). */
static __always_inline long cgf_dns_qname(struct cgf_dns_parse *p)
{
	__u32 off = p->off, l;

	if (off >= p->len)
		return cgf_dns_stop(p, CGF_DNS_BAD);
	l = CGF_DNS_B(p, off);
	if (!l) {
		/* the root, or past the question's type and class */
		if (!p->nlabels || off + 5 > p->len)
			return cgf_dns_stop(p, CGF_DNS_BAD);
		p->off = off + 5;
		p->cur = p->nlabels - 1;
		p->loff = 0;
		p->kp = 0;
		p->phase = CGF_DNS_KEY;
		return 0;
	}
	/* a label of 1-63 bytes; a name of at most 255 bytes on the wire */
	if (l > 63 || p->nlabels >= CGF_DNS_LABELS || off + 1 + l >= p->len || off + l > 12 + 253)
		return cgf_dns_stop(p, CGF_DNS_BAD);
	p->lstart[p->nlabels & (CGF_DNS_LABELS - 1)] = (__u16)(off + 1);
	p->llen[p->nlabels & (CGF_DNS_LABELS - 1)] = (__u8)l;
	p->nlabels++;
	p->off = off + 1 + l;
	return 0;
}

/* One byte of the key: the labels from the last, lower case, each with a dot. */
static __always_inline long cgf_dns_key(struct cgf_dns_parse *p)
{
	__u32 lab = p->cur & (CGF_DNS_LABELS - 1), c;

	if (p->kp >= CGF_DNS_NAME - 1)
		return cgf_dns_stop(p, CGF_DNS_BAD);
	if (p->loff < p->llen[lab]) {
		c = CGF_DNS_B(p, p->lstart[lab] + p->loff);
		/* a dot or a NUL inside a label would make the key of another name */
		if (c == '.' || c == 0)
			return cgf_dns_stop(p, CGF_DNS_BAD);
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		p->key.name[p->kp & (CGF_DNS_NAME - 1)] = (__u8)c;
		p->kp++;
		p->loff++;
		return 0;
	}
	p->key.name[p->kp & (CGF_DNS_NAME - 1)] = '.';
	p->kp++;
	if (!p->cur) {		/* the NUL after it is already there */
		p->key.prefixlen = (p->kp + 1) * 8;
		p->phase = CGF_DNS_ANAME;
		return 0;
	}
	p->cur--;
	p->loff = 0;
	return 0;
}

/* One label of a record's owner name, which may end in a pointer. */
static __always_inline long cgf_dns_aname(struct cgf_dns_parse *p)
{
	__u32 off = p->off, l;

	if (!p->rrs || off >= p->len)
		return cgf_dns_stop(p, CGF_DNS_DONE);
	l = CGF_DNS_B(p, off);
	if ((l & 0xc0) == 0xc0) {
		p->off = off + 2;
		p->phase = CGF_DNS_RR;
	} else if (l & 0xc0) {
		return cgf_dns_stop(p, CGF_DNS_BAD);
	} else if (!l) {
		p->off = off + 1;
		p->phase = CGF_DNS_RR;
	} else {
		p->off = off + 1 + l;
	}
	return 0;
}

static __always_inline long cgf_dns_rr(struct cgf_dns_parse *p)
{
	__u32 off = p->off, type, class, ttl, rdlen;
	struct cgf_dns_addr *a;

	if (off + 10 > p->len)
		return cgf_dns_stop(p, CGF_DNS_DONE);
	type = CGF_DNS_U16(p, off);
	class = CGF_DNS_U16(p, off + 2);
	ttl = CGF_DNS_U16(p, off + 4) << 16 | CGF_DNS_U16(p, off + 6);
	rdlen = CGF_DNS_U16(p, off + 8);
	if (off + 10 + rdlen > p->len)
		return cgf_dns_stop(p, CGF_DNS_DONE);	/* truncated: what came before counts */
	if (class == 1 && ((type == 1 && rdlen == 4) || (type == 28 && rdlen == 16)) &&
	    p->naddr < CGF_DNS_ADDRS) {
		a = &p->addr[p->naddr & (CGF_DNS_ADDRS - 1)];
		if (rdlen == 4) {
			a->addr[0] = 0;
			a->addr[1] = 0;
			a->addr[2] = 0;
			((__u8 *)a->addr)[10] = 0xff;
			((__u8 *)a->addr)[11] = 0xff;
		}
		for (__u32 i = 0; i < 16; i++)
			if (i < rdlen)
				((__u8 *)a->addr)[(16 - rdlen + i) & 15] =
					(__u8)CGF_DNS_B(p, off + 10 + i);
		a->ttl = ttl > 0x7fffffffu ? 0 : ttl;	/* RFC 2181: the top bit means 0 */
		p->naddr++;
	}
	p->off = off + 10 + rdlen;
	p->rrs--;
	p->phase = CGF_DNS_ANAME;
	return 0;
}

/* One step; 1 when the parse is over (phase DONE or BAD). */
static __always_inline long cgf_dns_step(struct cgf_dns_parse *p)
{
	switch (p->phase) {
	case CGF_DNS_HDR:
		return cgf_dns_hdr(p);
	case CGF_DNS_QNAME:
		return cgf_dns_qname(p);
	case CGF_DNS_KEY:
		return cgf_dns_key(p);
	case CGF_DNS_ANAME:
		return cgf_dns_aname(p);
	case CGF_DNS_RR:
		return cgf_dns_rr(p);
	default:
		return 1;
	}
}

#endif /* CGFENCE_DNS_H */
