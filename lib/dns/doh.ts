// Encrypted DNS endpoints: connections whose lookups the sniffer cannot see. A process that
// resolves through DNS over TLS (RFC 7858, TCP 853), DNS over QUIC (RFC 9250, UDP 853) or
// DNS over HTTPS (RFC 8484, 443) leaves no port-53 answers, so its later connections have no
// name; flagging the resolver connection itself tells the reader why.
//
// DoH shares 443 with everything else, so only well-known public resolvers are recognised,
// by address or by the TLS SNI / resolved name. Sources, each operator's own setup pages:
// Cloudflare 1.1.1.1 (developers.cloudflare.com/1.1.1.1: ip-addresses, 1.1.1.1 for
// Families), Google Public DNS (developers.google.com/speed/public-dns/docs/using, /doh),
// Quad9 (quad9.net/service/service-addresses-and-features), OpenDNS / Cisco Umbrella
// (support articles for 208.67.222.222 and DoH), AdGuard DNS (adguard-dns.io/kb: public DNS
// server addresses), CleanBrowsing (cleanbrowsing.org/filters), NextDNS (its setup page:
// dns.nextdns.io and per-configuration subdomains), Mullvad (mullvad.net/help/dns-over-
// https-and-dns-over-tls), Control D (docs.controld.com: free DNS), as those pages read in
// 2025 (written down here, not fetched). The address list holds only the anycast addresses
// published there; operators' per-account addresses are not
// listed (their names still are). Review when an operator announces new addresses.
import ipaddr from 'ipaddr.js';

/** DoT (RFC 7858 §3.1) and DoQ (RFC 9250 §4.1.1) both use port 853. */
export const ENCRYPTED_DNS_PORT = 853;
const HTTPS_PORT = 443;

/** Public DoH resolvers by address (text as decode's addressToString gives it). */
export const PUBLIC_DOH_ADDRESSES: readonly string[] = [
  // Cloudflare: 1.1.1.1, malware-blocking (.2 / 1112 / 1002), families (.3 / 1113 / 1003)
  '1.1.1.1', '1.0.0.1', '2606:4700:4700::1111', '2606:4700:4700::1001',
  '1.1.1.2', '1.0.0.2', '2606:4700:4700::1112', '2606:4700:4700::1002',
  '1.1.1.3', '1.0.0.3', '2606:4700:4700::1113', '2606:4700:4700::1003',
  // Google Public DNS
  '8.8.8.8', '8.8.4.4', '2001:4860:4860::8888', '2001:4860:4860::8844',
  // Quad9: secure, unsecured (10), with ECS (11)
  '9.9.9.9', '149.112.112.112', '2620:fe::fe', '2620:fe::9',
  '9.9.9.10', '149.112.112.10', '2620:fe::10', '2620:fe::fe:10',
  '9.9.9.11', '149.112.112.11', '2620:fe::11', '2620:fe::fe:11',
  // OpenDNS / Cisco Umbrella, and FamilyShield
  '208.67.222.222', '208.67.220.220', '2620:119:35::35', '2620:119:53::53',
  '208.67.222.123', '208.67.220.123',
  // AdGuard DNS: default, family, non-filtering
  '94.140.14.14', '94.140.15.15', '2a10:50c0::ad1:ff', '2a10:50c0::ad2:ff',
  '94.140.14.15', '94.140.15.16', '94.140.14.140', '94.140.14.141',
  // CleanBrowsing: security, adult, family filters
  '185.228.168.9', '185.228.169.9', '185.228.168.10', '185.228.169.11', '185.228.168.168', '185.228.169.168',
  // NextDNS: by name only (its setup page hands out per-account addresses).
];

/** Public DoH / DoT resolver host names; a subdomain matches too (NextDNS "<id>.dns.nextdns.io"). */
export const PUBLIC_DOH_NAMES: readonly string[] = [
  'cloudflare-dns.com', 'one.one.one.one', '1dot1dot1dot1.cloudflare-dns.com',
  'mozilla.cloudflare-dns.com', 'security.cloudflare-dns.com', 'family.cloudflare-dns.com',
  'dns.google', 'dns.google.com', 'dns64.dns.google',
  'dns.quad9.net', 'dns9.quad9.net', 'dns10.quad9.net', 'dns11.quad9.net',
  'doh.opendns.com', 'doh.familyshield.opendns.com', 'dns.umbrella.com',
  'dns.adguard-dns.com', 'unfiltered.adguard-dns.com', 'family.adguard-dns.com', 'dns.adguard.com',
  'dns.nextdns.io',
  'doh.cleanbrowsing.org',
  'dns.mullvad.net', 'doh.mullvad.net',
  'freedns.controld.com', 'dns.controld.com',
];

/** Bound of the two verdict memos below. */
const VERDICT_MEMO = 4096;

/** The recogniser over a list (tests and configuration can pass their own). */
export class EncryptedDnsEndpoints {
  private readonly addresses = new Set<string>();
  private readonly names: Set<string>;
  /** IPv6 texts known not to be a listed address in any spelling (bounded; cleared when full). */
  private readonly plainV6 = new Set<string>();
  /** Names already judged (a connection's name repeats; the suffix walk allocates). Cleared when full. */
  private readonly nameVerdicts = new Map<string, boolean>();

  constructor(addresses: readonly string[] = PUBLIC_DOH_ADDRESSES, names: readonly string[] = PUBLIC_DOH_NAMES) {
    for (const a of addresses) {
      const norm = normalizeAddress(a);
      if (norm === undefined) throw new Error(`encrypted DNS address list: "${a}" is not an IP address`);
      this.addresses.add(norm);
    }
    this.names = new Set(names.map((n) => n.toLowerCase().replace(/\.$/, '')));
  }

  /**
   * Port 853, or 443 to a listed resolver address or SNI / name. `canonical`: `ip` is decode's
   * addressToString text (RFC 5952, as the list is kept), so other spellings need no check.
   */
  isEncrypted(ip: string, port: number, sniOrName?: string, canonical = false): boolean {
    if (port === ENCRYPTED_DNS_PORT) return true;
    if (port !== HTTPS_PORT) return false;
    if (this.addresses.has(ip)) return true;
    // The one canonical text the list does not hold: IPv4-mapped, kept as its IPv4 address.
    if (canonical && ip.startsWith('::ffff:') && ip.includes('.') && this.addresses.has(ip.slice(7))) return true;
    // Other spellings (upper case, uncompressed IPv6, IPv4-mapped) are normalised only on a miss.
    if (!canonical && ip.includes(':') && !this.plainV6.has(ip)) {
      const norm = normalizeAddress(ip);
      if (norm !== undefined && this.addresses.has(norm)) return true;
      // Remember the miss: parsing every IPv6 text again costs microseconds a connection.
      if (this.plainV6.size >= VERDICT_MEMO) this.plainV6.clear();
      this.plainV6.add(ip);
    }
    if (sniOrName === undefined || sniOrName === '') return false;
    let listed = this.nameVerdicts.get(sniOrName);
    if (listed === undefined) {
      listed = this.hasName(sniOrName);
      if (this.nameVerdicts.size >= VERDICT_MEMO) this.nameVerdicts.clear();
      this.nameVerdicts.set(sniOrName, listed);
    }
    return listed;
  }

  private hasName(raw: string): boolean {
    let name = raw.toLowerCase();
    if (name.endsWith('.')) name = name.slice(0, -1);
    // Walk the suffixes: "abc123.dns.nextdns.io" → "dns.nextdns.io" → "nextdns.io" → "io".
    for (let at = 0; at >= 0 && at < name.length; ) {
      if (this.names.has(at === 0 ? name : name.slice(at))) return true;
      const dot = name.indexOf('.', at);
      at = dot < 0 ? -1 : dot + 1;
    }
    return false;
  }
}

/** RFC 5952 text of an address; IPv4-mapped IPv6 as the IPv4 address; undefined if invalid. */
function normalizeAddress(text: string): string | undefined {
  if (!ipaddr.isValid(text)) return undefined;
  return ipaddr.process(text).toString();
}

/**
 * True for a connection to port 853 (DoT over TCP, DoQ over UDP), or to 443 at a well-known
 * public DoH resolver by address or by SNI / name. Builds the default list once per call
 * site: keep an EncryptedDnsEndpoints on the packet path instead.
 */
export function isEncryptedDnsEndpoint(ip: string, port: number, sniOrName?: string): boolean {
  return defaultEndpoints().isEncrypted(ip, port, sniOrName);
}

let defaults: EncryptedDnsEndpoints | undefined;
/** The built-in list, made on first use: immutable data, so sharing it is safe. */
function defaultEndpoints(): EncryptedDnsEndpoints {
  defaults ??= new EncryptedDnsEndpoints();
  return defaults;
}
