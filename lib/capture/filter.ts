import { CaptureError } from './errors.js';

// The filter must compile on Ethernet and on the `any` device (Linux cooked v1), and it must
// run in the kernel on both: libpcap falls back to filtering in user space (every packet
// copied into the ring first) when a cooked-mode filter reads link-header bytes other than
// the packet type (offset 0) and the protocol (offset 14). So no `vlan` keyword (not
// supported on cooked captures) and no `link[12:2]`; tags are matched with `ether proto`
// (offset 12 on Ethernet, the protocol field on SLL) and byte offsets from 16 on.

const TAG_TYPES = [0x8100, 0x88a8, 0x9100]; // 802.1Q, 802.1ad, pre-standard QinQ

/**
 * UDP port of the datagrams a live capture sends itself over loopback when it closes, so that
 * libpcap wakes and frees its handle (live.ts): 9, discard (RFC 863). The filter keeps them.
 */
export const WAKE_PORT = 9;

/**
 * BPF filter keeping what the pipeline needs:
 * - every TCP and UDP packet over IPv4 and IPv6: flows count bytes both ways, and DNS on any
 *   port rides on these. libpcap's `udp` / `tcp` also match IPv6 datagrams whose next header
 *   is a fragment header, so fragmented DNS answers are kept;
 * - TCP and UDP behind one or two VLAN tags still in the frame (offline files, and the inner
 *   tag of QinQ live; the Linux kernel strips the outer tag before the filter sees it);
 * - but not the host's loopback traffic (127.0.0.0/8 to 127.0.0.0/8, ::1 to ::1) other than
 *   DNS: it is never egress, a busy local proxy or database can send more of it than all the
 *   rest, and on `any` every loopback packet is seen twice and takes two frames of the kernel
 *   ring before libpcap drops one (capture.ringPackets). DNS over loopback stays: local stub
 *   resolvers and caches (systemd-resolved on 127.0.0.53, dnsmasq, unbound) answer the
 *   host's programs there, and so do the capture's own wake-up datagrams (WAKE_PORT). (A
 *   connection to one of the host's other own addresses also goes over lo; the decode stage
 *   marks it, and the pipeline does not track it.) `keepLoopback` keeps it all: for an
 *   operator whose --external-cidr takes in loopback addresses (classify.externalCoversLoopback);
 * - with `internalPairs`, not the traffic between two internal addresses either (see FilterOptions).
 */
export function buildBpfFilter(dnsPorts: number[], opts: FilterOptions = {}): string {
  if (dnsPorts.length === 0) throw new CaptureError('dns ports: at least one port is needed (usually 53)');
  const check = (p: number, what: string): void => {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new CaptureError(`${what} ${p}: must be an integer from 1 to 65535`);
  };
  for (const p of dnsPorts) check(p, 'dns port');
  for (const p of [...(opts.internalPairs?.keepPorts ?? []), ...(opts.loopbackKeepPorts ?? [])]) check(p, 'kept port');
  const any = `tcp or udp or ${vlanClause(1)} or ${vlanClause(2)}`;
  const ports = (list: number[]): string => [...new Set(list)].map((p) => `port ${p}`).join(' or ');
  const loopback = '(src net 127.0.0.0/8 and dst net 127.0.0.0/8) or (src host ::1 and dst host ::1)';
  const clauses = [any];
  if (!opts.keepLoopback) clauses.push(`not (${loopback}) or ${ports([...dnsPorts, ...(opts.loopbackKeepPorts ?? [])])} or udp dst port ${WAKE_PORT}`);
  const ranges = opts.internalPairs?.ranges ?? [];
  if (ranges.length > 0) {
    const side = (dir: 'src' | 'dst'): string => ranges.map((r) => `${dir} net ${r}`).join(' or ');
    // `port N` on IPv6 reads the ports only right after the fixed header: a fragmented DNS
    // answer (a fragment header first) must be kept whole, as `udp` keeps it above.
    clauses.push(`not ((${side('src')}) and (${side('dst')})) or ${ports([...dnsPorts, ...(opts.internalPairs?.keepPorts ?? [])])} or ip6[6] = 44`);
  }
  return clauses.length === 1 ? any : clauses.map((c) => `(${c})`).join(' and ');
}

export interface FilterOptions {
  /** Keep loopback traffic (see buildBpfFilter). */
  keepLoopback?: boolean;
  /** Loopback traffic kept on these ports too, besides the DNS ports: configured proxies (`ssh -D` on 127.0.0.1:1080). */
  loopbackKeepPorts?: readonly number[];
  /**
   * Leave out TCP and UDP between two addresses of `ranges` (classify's internalPairRanges:
   * never judged, as the responder is internal), except on the DNS ports and `keepPorts` (the
   * proxy ports: an internal proxy's connections carry the requests that name the destination),
   * and IPv6 fragments (whose ports `port` cannot see). Only in the untagged IP header (a tagged
   * frame is kept whole, as before); on a busy node the traffic among pods, nodes and databases
   * is most of what the kernel would otherwise copy.
   */
  internalPairs?: { ranges: readonly string[]; keepPorts: readonly number[] };
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
