/**
 * Link-layer header types as libpcap reports them (pcap_datalink(); the LINKTYPE_ numbers
 * from tcpdump.org/linktypes, which libpcap maps to the DLT_ values below on Linux).
 */
export const LinkType = {
  NULL: 0, // BSD loopback: 4-byte address family in the capturing host's byte order
  ETHERNET: 1,
  RAW: 12, // DLT_RAW on Linux: raw IPv4 or IPv6, version from the first nibble
  RAW_101: 101, // LINKTYPE_RAW as written in savefiles
  LOOP: 108, // OpenBSD loopback: like NULL, family in network byte order
  LINUX_SLL: 113, // Linux cooked capture v1, 16-byte header (the `any` device)
  NFLOG: 239, // Linux NFLOG: firewall `log group` packets (tcpdump -i nflog:N)
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276, // Linux cooked capture v2, 20-byte header
} as const;

/** EtherType values the network layer dispatches on. */
export const EtherType = {
  IPV4: 0x0800,
  IPV6: 0x86dd,
  VLAN: 0x8100, // 802.1Q
  QINQ: 0x88a8, // 802.1ad service tag
  QINQ_OLD: 0x9100, // pre-standard QinQ, still emitted by some switches
  PPPOE_SESSION: 0x8864, // PPPoE session stage (RFC 2516): a DSL or fibre uplink
} as const;
