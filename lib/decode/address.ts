/**
 * Text form of an address held in a packet buffer. Allocates a string, so call it only for
 * what is kept (a new flow, a DNS answer, an alert), never per packet.
 */
export function addressToString(buf: Buffer, offset: number, version: 4 | 6): string {
  if (version === 4) return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
  return ipv6ToString(buf, offset);
}

/**
 * RFC 5952: lower-case hex without leading zeros; the longest run of two or more zero groups
 * (the first one on a tie) becomes "::"; IPv4-mapped addresses (::ffff:0:0/96) end in dotted
 * quad.
 */
function ipv6ToString(buf: Buffer, offset: number): string {
  const groups: number[] = new Array<number>(8);
  for (let i = 0; i < 8; i++) groups[i] = (buf[offset + 2 * i] << 8) | buf[offset + 2 * i + 1];

  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    return `::ffff:${addressToString(buf, offset + 12, 4)}`;
  }

  let bestStart = -1;
  let bestLength = 1; // a single zero group is never compressed (RFC 5952 section 4.2.2)
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }

  const hex = (from: number, to: number): string => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}
