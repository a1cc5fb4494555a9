// A capture of a scan from one host: a SYN to each of `n` new documentation addresses
// (2001:db8:1::/64), 1 ms apart (test/pipeline/replay-pause.test.ts, split-replay.test.ts).
import { ethernet, ipv6, tcp, writePcap, ETHERTYPE_IPV6, TCP_SYN, type PcapFrame } from './packets.js';

/** Its first SYN's time. */
export const SCAN_T0 = Date.UTC(2026, 11, 1, 10, 0, 0);

/** Writes the scan (each SYN is judged once its first second without a ClientHello is over). */
export function scanCapture(file: string, n: number): void {
  const frames: PcapFrame[] = [];
  for (let i = 0; i < n; i++) {
    const dst = `2001:db8:1::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
    const seg = tcp({ srcPort: 20000 + (i % 40000), dstPort: 443, flags: TCP_SYN, seq: i * 7919 });
    frames.push({ ts: SCAN_T0 + i, data: ethernet({ type: ETHERTYPE_IPV6 }, ipv6({ src: 'fd00::5', dst, nextHeader: 6 }, seg)) });
  }
  writePcap(file, 1, frames);
}
