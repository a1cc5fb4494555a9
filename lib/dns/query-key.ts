// The key a DNS query and its answer share: the client and server sockets and the transaction
// id (RFC 5452 §3), made from the packet's bytes without text for IPv4 (query-tracker.ts).
import { ipv6PairKey, u32, type PacketInfo } from '../decode/index.js';

/**
 * Who asked whom, with which id: the client and server sockets and the transaction id. IPv4
 * from a packet: `a` / `b` the client / server address as 32-bit numbers, `p` both ports
 * (client << 16 | server), `s` ''. Otherwise `s` is the text of it all and a = b = p = 0.
 * `h` mixes them into the integer that picks the hash bucket.
 */
export class QueryKey {
  h = 0;
  a = 0;
  b = 0;
  p = 0;
  id = 0;
  s = '';
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
  if (pkt.ipVersion !== 6) {
    out.a = u32(buf, c);
    out.b = u32(buf, s);
    out.p = ((cPort << 16) | sPort) >>> 0;
    out.s = '';
  } else {
    out.a = 0;
    out.b = 0;
    out.p = 0;
    out.s = ipv6PairKey(0, cPort, sPort, buf, c, s); // no transport in the key, as for IPv4
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
  out.h = mix(out);
  return out;
}

/** The bucket hash of a key: a 30-bit integer. */
function mix(k: QueryKey): number {
  let h = Math.imul(k.a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ k.b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ k.p, 0x27d4eb2f);
  h ^= k.id;
  const t = k.s;
  for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 0x01000193);
  h ^= h >>> 15;
  return h & 0x3fffffff;
}
