// Builders for hand-made DNS messages (dns-packet's encoder), RFC 5737 / RFC 3849 addresses.
import dnsPacket from 'dns-packet';
import type { Answer, Packet, Question } from 'dns-packet';

export function question(name: string, type: Question['type'] = 'A'): Question {
  return { name, type, class: 'IN' };
}

export function a(name: string, data: string, ttl = 300): Answer {
  return { name, type: 'A', class: 'IN', ttl, data };
}

export function aaaa(name: string, data: string, ttl = 300): Answer {
  return { name, type: 'AAAA', class: 'IN', ttl, data };
}

export function cname(name: string, data: string, ttl = 300): Answer {
  return { name, type: 'CNAME', class: 'IN', ttl, data };
}

/** A response (QR=1, RD, RA) to `q` with the given sections. */
export function response(q: Question[], answers: Answer[], extra: Partial<Packet> = {}): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: 0x1234,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: q,
    answers,
    ...extra,
  });
}

/** Copies `msg` into a larger buffer at `at`, to check offsets are honoured. */
export function embed(msg: Buffer, at: number): Buffer {
  const buf = Buffer.alloc(at + msg.length + 7, 0xee);
  msg.copy(buf, at);
  return buf;
}

/** 2-byte length prefix + message (RFC 1035 §4.2.2). */
export function framed(msg: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length);
  return Buffer.concat([len, msg]);
}
