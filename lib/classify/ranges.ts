// The address ranges that are never "external" unless an --external-cidr says so. The
// source is the IANA IPv4 / IPv6 Special-Purpose Address Registries (RFC 6890 and
// successors): every block the registry marks "Globally Reachable: False", plus multicast,
// the IPv4 class E block and everything in IPv6 outside global unicast 2000::/3. A connection
// to any of these cannot leave the site as addressed, so it is never a "new external host".

export interface BuiltinRange {
  cidr: string;
  why: string;
}

export const BUILTIN_IPV4: readonly BuiltinRange[] = Object.freeze([
  { cidr: '0.0.0.0/8', why: '"this network" / unspecified (RFC 791, RFC 1122)' },
  { cidr: '10.0.0.0/8', why: 'private (RFC 1918)' },
  { cidr: '100.64.0.0/10', why: 'shared address space, carrier-grade NAT (RFC 6598)' },
  { cidr: '127.0.0.0/8', why: 'loopback (RFC 1122)' },
  { cidr: '169.254.0.0/16', why: 'link-local, includes the cloud metadata 169.254.169.254 (RFC 3927)' },
  { cidr: '172.16.0.0/12', why: 'private (RFC 1918)' },
  { cidr: '192.0.0.0/24', why: 'IETF protocol assignments (RFC 6890)' },
  { cidr: '192.0.2.0/24', why: 'documentation TEST-NET-1 (RFC 5737)' },
  { cidr: '192.88.99.0/24', why: 'deprecated 6to4 relay anycast (RFC 7526)' },
  { cidr: '192.168.0.0/16', why: 'private (RFC 1918)' },
  { cidr: '198.18.0.0/15', why: 'benchmarking (RFC 2544)' },
  { cidr: '198.51.100.0/24', why: 'documentation TEST-NET-2 (RFC 5737)' },
  { cidr: '203.0.113.0/24', why: 'documentation TEST-NET-3 (RFC 5737)' },
  { cidr: '224.0.0.0/4', why: 'multicast (RFC 5771)' },
  { cidr: '240.0.0.0/4', why: 'reserved class E, includes broadcast 255.255.255.255 (RFC 1112, RFC 919)' },
]);

export const BUILTIN_IPV6: readonly BuiltinRange[] = Object.freeze([
  { cidr: '::/128', why: 'unspecified (RFC 4291)' },
  { cidr: '::1/128', why: 'loopback (RFC 4291)' },
  { cidr: '64:ff9b:1::/48', why: 'local-use IPv4/IPv6 translation (RFC 8215)' },
  { cidr: '100::/64', why: 'discard-only (RFC 6666)' },
  { cidr: '2001:2::/48', why: 'benchmarking (RFC 5180)' },
  { cidr: '2001:10::/28', why: 'deprecated ORCHID (RFC 4843)' },
  { cidr: '2001:db8::/32', why: 'documentation (RFC 3849)' },
  { cidr: '3fff::/20', why: 'documentation (RFC 9637)' },
  { cidr: '5f00::/16', why: 'SRv6 SIDs (RFC 9602)' },
  { cidr: 'fc00::/7', why: 'unique local addresses (RFC 4193)' },
  { cidr: 'fe80::/10', why: 'link-local (RFC 4291)' },
  { cidr: 'fec0::/10', why: 'deprecated site-local (RFC 3879)' },
  { cidr: 'ff00::/8', why: 'multicast (RFC 4291)' },
  // Everything outside 2000::/3 is reserved or unassigned (IANA IPv6 address space); the
  // three blocks below are exactly its complement. They subsume several entries above,
  // which stay listed so the table documents where each address comes from.
  { cidr: '::/3', why: 'outside global unicast 2000::/3 (IANA reserved / unassigned)' },
  { cidr: '4000::/2', why: 'outside global unicast 2000::/3 (IANA unassigned)' },
  { cidr: '8000::/1', why: 'outside global unicast 2000::/3 (IANA unassigned, ULA, link-local, multicast)' },
]);
