// Text form of the addresses in A/AAAA rdata. dns-packet's own AAAA formatter compresses the
// first run of zero groups, not the longest one, so "2001:db8:0:0:1:0:0:0" would come out as
// "2001:db8::1:0:0:0" instead of RFC 5952's "2001:db8:0:0:1::". The IP → name cache is keyed
// by this text and looked up with addresses the flow stage formats, so both must follow
// RFC 5952 §4: lower-case hex, no leading zeros, longest run (≥ 2 groups, first on a tie)
// of zero groups as "::"; IPv4-mapped addresses as ::ffff:a.b.c.d (§5). This is the same
// text lib/procfs/address.ts produces, so names, sockets and flows compare as strings.

export function formatIPv4(buf: Buffer, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

export function formatIPv6(buf: Buffer, off: number): string {
  if (isV4Mapped(buf, off)) return `::ffff:${formatIPv4(buf, off + 12)}`;
  let bestStart = -1;
  let bestLen = 0;
  let runStart = -1;
  for (let i = 0; i < 8; i++) {
    const zero = buf[off + 2 * i] === 0 && buf[off + 2 * i + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = i;
      const len = i - runStart + 1;
      if (len > bestLen) {
        bestLen = len;
        bestStart = runStart;
      }
    } else {
      runStart = -1;
    }
  }
  if (bestLen < 2) bestStart = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += ((buf[off + 2 * i] << 8) | buf[off + 2 * i + 1]).toString(16);
  }
  return out;
}

function isV4Mapped(buf: Buffer, off: number): boolean {
  for (let i = 0; i < 10; i++) if (buf[off + i] !== 0) return false;
  return buf[off + 10] === 0xff && buf[off + 11] === 0xff;
}
