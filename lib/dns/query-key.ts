// The key a DNS query and its answer share: the client and server sockets and the transaction
// id (RFC 5452 §3), made from the packet's bytes without text (query-tracker.ts).
import { u32, type PacketInfo } from '../decode/index.js';

/** QueryKey.s of a key from an IPv6 packet (text keys hold "ip|port|ip|port", never this). */
export const IPV6_KEY = 'ipv6';

/**
 * Who asked whom, with which id: the client and server sockets and the transaction id. From a
 * packet: `a` / `b` the client / server address as 32-bit numbers, `p` both ports (client << 16
 * | server), `s` '' for IPv4; for IPv6 `a` / `b` are the addresses' last words, the first three
 * are c0-c2 / s0-s2, and `s` is IPV6_KEY (`v6` 1). From text (textQueryKey), `s` is the text of
 * it all and the numbers are 0. c0-s2 mean something only when `v6` is 1. `h` mixes them into
 * the integer that picks the hash bucket.
 */
export class QueryKey {
  h = 0;
  a = 0;
  b = 0;
  p = 0;
  id = 0;
  s = '';
  /** 1: made from an IPv6 packet (s is IPV6_KEY); the words below are the addresses' first three. */
  v6 = 0;
  c0 = 0;
  c1 = 0;
  c2 = 0;
  s0 = 0;
  s1 = 0;
  s2 = 0;
}

/**
 * The tracker key of a DNS message in `pkt` with transaction `id`: its client and server
 * sockets in that order, whichever way the packet goes (`fromClient`: a query; else an
 * answer). Made from the bytes into `out` (the packet path passes one reused key), no text
 * for IPv4.
 */
export function queryKey(pkt: PacketInfo, id: number, fromClient: boolean, out: QueryKey = new QueryKey()): QueryKey {
  const buf = pkt.buf;
  const c = fromClient ? pkt.srcOffset : pkt.dstOffset;
  const s = fromClient ? pkt.dstOffset : pkt.srcOffset;
  const cPort = fromClient ? pkt.srcPort : pkt.dstPort;
  const sPort = fromClient ? pkt.dstPort : pkt.srcPort;
  out.id = id;
  out.p = ((cPort << 16) | sPort) >>> 0;
  if (pkt.ipVersion !== 6) {
    out.a = u32(buf, c);
    out.b = u32(buf, s);
    out.s = '';
    out.v6 = 0;
  } else {
    out.s = IPV6_KEY;
    out.v6 = 1;
    out.c0 = u32(buf, c);
    out.c1 = u32(buf, c + 4);
    out.c2 = u32(buf, c + 8);
    out.a = u32(buf, c + 12);
    out.s0 = u32(buf, s);
    out.s1 = u32(buf, s + 4);
    out.s2 = u32(buf, s + 8);
    out.b = u32(buf, s + 12);
  }
  out.h = mix(out);
  return out;
}

/** The key of a query from `client` ("ip|port") to `server` ("ip|port"). */
export function textQueryKey(id: number, client: string, server: string, out: QueryKey = new QueryKey()): QueryKey {
  out.id = id;
  out.a = 0;
  out.b = 0;
  out.p = 0;
  out.s = `${client}|${server}`;
  out.v6 = 0;
  out.h = mix(out);
  return out;
}

/** The bucket hash of a key: a 30-bit integer. */
function mix(k: QueryKey): number {
  let h = Math.imul(k.a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ k.b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ k.p, 0x27d4eb2f);
  if (k.v6 !== 0) {
    h = Math.imul(h ^ (h >>> 13) ^ k.c0, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 16) ^ k.c1, 0xc2b2ae35);
    h = Math.imul(h ^ (h >>> 13) ^ k.c2, 0x27d4eb2f);
    h = Math.imul(h ^ (h >>> 16) ^ k.s0, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13) ^ k.s1, 0xc2b2ae35);
    h = Math.imul(h ^ (h >>> 16) ^ k.s2, 0x27d4eb2f);
  }
  h ^= k.id;
  const t = k.v6 !== 0 ? '' : k.s;
  for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 0x01000193);
  h ^= h >>> 15;
  return h & 0x3fffffff;
}
