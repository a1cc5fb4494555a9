import { CaptureError } from './errors.js';

// The filter must compile on Ethernet and on the `any` device (Linux cooked v1), and it must
// run in the kernel on both: libpcap falls back to filtering in user space (every packet
// copied into the ring first) when a cooked-mode filter reads link-header bytes other than
// the packet type (offset 0) and the protocol (offset 14). So no `vlan` keyword (not
// supported on cooked captures) and no `link[12:2]`; tags are matched with `ether proto`
// (offset 12 on Ethernet, the protocol field on SLL) and byte offsets from 16 on.

const TAG_TYPES = [0x8100, 0x88a8, 0x9100]; // 802.1Q, 802.1ad, pre-standard QinQ

/**
 * BPF filter keeping what the pipeline needs:
 * - every TCP and UDP packet over IPv4 and IPv6: flows count bytes both ways, and DNS on any
 *   port rides on these. libpcap's `udp` / `tcp` also match IPv6 datagrams whose next header
 *   is a fragment header, so fragmented DNS answers are kept;
 * - TCP and UDP behind one or two VLAN tags still in the frame (offline files, and the inner
 *   tag of QinQ live; the Linux kernel strips the outer tag before the filter sees it).
 * `dnsPorts` is validated here so a bad setting fails at start; since every TCP/UDP packet is
 * kept, DNS needs no clause of its own today (a narrower filter, e.g. only SYN/FIN/RST for
 * TCP, would add `port N` clauses for them).
 */
export function buildBpfFilter(dnsPorts: number[]): string {
  if (dnsPorts.length === 0) throw new CaptureError('dns ports: at least one port is needed (usually 53)');
  for (const p of dnsPorts) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new CaptureError(`dns port ${p}: must be an integer from 1 to 65535`);
  }
  return `tcp or udp or ${vlanClause(1)} or ${vlanClause(2)}`;
}

/** TCP/UDP behind `tags` VLAN tags, by offset from the start of an Ethernet frame. */
function vlanClause(tags: 1 | 2): string {
  const isTag = (expr: string): string => `(${TAG_TYPES.map((t) => `${expr} = 0x${t.toString(16)}`).join(' or ')})`;
  const typeAt = 12 + 4 * tags;
  const ipAt = typeAt + 2;
  const l4 = (at: number): string => `(link[${at}] = 6 or link[${at}] = 17)`;
  const l4v6 = (at: number): string => `(link[${at}] = 6 or link[${at}] = 17 or link[${at}] = 44)`; // 44: fragment header
  const outer = `(${TAG_TYPES.map((t) => `ether proto 0x${t.toString(16)}`).join(' or ')})`;
  const inner = tags === 2 ? ` and ${isTag('link[16:2]')}` : '';
  return `(${outer}${inner} and ((link[${typeAt}:2] = 0x800 and ${l4(ipAt + 9)}) or (link[${typeAt}:2] = 0x86dd and ${l4v6(ipAt + 6)})))`;
}
