// Layer decoders return the next offset (>= 0) or one of these negative statuses. Each status
// names one counter in DecodeStats: errors are malformed input (a Zeek-style "weird"), skips
// are well-formed packets the pipeline has no use for.

export const Status = {
  TruncatedEthernet: -1,
  TruncatedVlan: -2,
  TooManyVlan: -3,
  TruncatedSll: -4,
  TruncatedSll2: -5,
  TruncatedNull: -6,
  TruncatedIpv4: -7,
  BadIpv4Version: -8,
  BadIpv4HeaderLength: -9,
  BadIpv4TotalLength: -10,
  TruncatedIpv6: -11,
  BadIpv6Version: -12,
  TruncatedIpv6Ext: -13,
  TooManyIpv6Ext: -14,
  TruncatedTcp: -15,
  BadTcpDataOffset: -16,
  TruncatedUdp: -17,
  BadUdpLength: -18,
  BadIpVersion: -19,
  Internal: -20,
  TruncatedIp: -21,
  BadIpv6PayloadLength: -22,
  TruncatedNflog: -23,
  BadNflog: -24,
  TruncatedPppoe: -25,
  // Skips start at FIRST_SKIP.
  NonIp: -50,
  Ipv4Fragment: -51,
  Ipv6Fragment: -52,
  OtherTransport: -53,
  Ipv6Esp: -54,
  Ipv6NoNextHeader: -55,
  UnsupportedLinkType: -56,
  NflogNoPayload: -57,
} as const;

export const FIRST_SKIP = -50;

/** Counter name for each status, indexed by -status. */
export const STATUS_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  const table: Record<string, number> = Status;
  for (const key of Object.keys(table)) {
    names[-table[key]] = key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
  }
  return names;
})();
