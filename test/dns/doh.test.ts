import assert from 'node:assert/strict';
import { EncryptedDnsEndpoints, isEncryptedDnsEndpoint, PUBLIC_DOH_ADDRESSES, PUBLIC_DOH_NAMES } from '../../lib/dns/index.js';

describe('dns/isEncryptedDnsEndpoint', () => {
  const table: [string, number, string | undefined, boolean, string][] = [
    // [ip, port, sni or name, expected, why]
    ['192.0.2.53', 853, undefined, true, 'DoT / DoQ port, any address'],
    ['2001:db8::53', 853, undefined, true, 'DoT over IPv6'],
    ['1.1.1.1', 443, undefined, true, 'Cloudflare'],
    ['1.0.0.1', 443, undefined, true, 'Cloudflare secondary'],
    ['2606:4700:4700::1111', 443, undefined, true, 'Cloudflare IPv6'],
    ['2606:4700:4700::1001', 443, undefined, true, 'Cloudflare IPv6 secondary'],
    ['8.8.8.8', 443, undefined, true, 'Google'],
    ['8.8.4.4', 443, undefined, true, 'Google secondary'],
    ['2001:4860:4860::8888', 443, undefined, true, 'Google IPv6'],
    ['2001:4860:4860::8844', 443, undefined, true, 'Google IPv6 secondary'],
    ['9.9.9.9', 443, undefined, true, 'Quad9'],
    ['149.112.112.112', 443, undefined, true, 'Quad9 secondary'],
    ['2620:fe::fe', 443, undefined, true, 'Quad9 IPv6'],
    ['2620:fe::9', 443, undefined, true, 'Quad9 IPv6 secondary'],
    ['208.67.222.222', 443, undefined, true, 'OpenDNS'],
    ['208.67.220.220', 443, undefined, true, 'OpenDNS secondary'],
    ['94.140.14.14', 443, undefined, true, 'AdGuard'],
    ['94.140.15.15', 443, undefined, true, 'AdGuard secondary'],
    ['2606:4700:4700:0:0:0:0:1111', 443, undefined, true, 'uncompressed IPv6 spelling'],
    ['2001:4860:4860::8888'.toUpperCase(), 443, undefined, true, 'upper-case IPv6'],
    ['::ffff:1.1.1.1', 443, undefined, true, 'IPv4-mapped (dual-stack socket)'],
    ['1.1.1.1', 80, undefined, false, 'plain HTTP to a resolver address is not DoH'],
    ['8.8.8.8', 53, undefined, false, 'classic DNS is visible, not encrypted'],
    ['192.0.2.1', 443, undefined, false, 'any other HTTPS'],
    ['192.0.2.1', 443, 'dns.google', true, 'by SNI'],
    ['192.0.2.1', 443, 'cloudflare-dns.com', true, 'by SNI'],
    ['192.0.2.1', 443, 'one.one.one.one', true, 'by SNI'],
    ['192.0.2.1', 443, 'mozilla.cloudflare-dns.com', true, 'Firefox TRR'],
    ['192.0.2.1', 443, 'dns.quad9.net', true, 'by SNI'],
    ['192.0.2.1', 443, 'doh.opendns.com', true, 'by SNI'],
    ['192.0.2.1', 443, 'dns.adguard-dns.com', true, 'by SNI'],
    ['192.0.2.1', 443, 'dns.nextdns.io', true, 'by SNI'],
    ['192.0.2.1', 443, 'abc123.dns.nextdns.io', true, 'per-configuration subdomain'],
    ['192.0.2.1', 443, 'doh.cleanbrowsing.org', true, 'by SNI'],
    ['192.0.2.1', 443, 'DNS.Google.', true, 'case and trailing dot'],
    ['192.0.2.1', 443, 'notdns.google', false, 'a sibling name is not a suffix match'],
    ['192.0.2.1', 443, 'google', false, 'a parent is not the resolver'],
    ['192.0.2.1', 443, 'www.example.com', false, 'any other site'],
    ['192.0.2.1', 443, '', false, 'empty SNI'],
    ['192.0.2.1', 8443, 'dns.google', false, 'only 443 and 853'],
    ['not-an-ip', 443, undefined, false, 'garbage address does not throw'],
  ];
  for (const [ip, port, name, expected, why] of table) {
    it(`${ip}:${port}${name !== undefined ? ` ${JSON.stringify(name)}` : ''} → ${expected} (${why})`, () => {
      assert.equal(isEncryptedDnsEndpoint(ip, port, name), expected);
    });
  }

  it('every listed address and name is recognised on 443', () => {
    for (const ip of PUBLIC_DOH_ADDRESSES) assert.equal(isEncryptedDnsEndpoint(ip, 443), true, ip);
    for (const n of PUBLIC_DOH_NAMES) assert.equal(isEncryptedDnsEndpoint('192.0.2.1', 443, n), true, n);
    assert.ok(PUBLIC_DOH_ADDRESSES.every((a) => !/^(192\.0\.2|198\.51\.100|203\.0\.113)\./.test(a)));
  });

  it('canonical text (as the packet path makes it) is judged alike, IPv4-mapped included; names repeat from the memo', () => {
    const e = new EncryptedDnsEndpoints();
    for (const [ip, port, name, expected] of table) {
      const canonical = ip !== 'not-an-ip' && !/[A-F]|:0:|^2606:4700:4700:0/.test(ip);
      if (!canonical) continue;
      assert.equal(e.isEncrypted(ip, port, name, true), expected, `${ip} ${String(name)}`);
      assert.equal(e.isEncrypted(ip, port, name, true), expected, `${ip} ${String(name)} again`);
    }
    assert.equal(e.isEncrypted('::ffff:1.1.1.1', 443, undefined, true), true);
    assert.equal(e.isEncrypted('::ffff:192.0.2.1', 443, undefined, true), false);
  });

  it('takes a custom list, and refuses one with a bad address', () => {
    const custom = new EncryptedDnsEndpoints(['198.51.100.53'], ['doh.example.net']);
    assert.equal(custom.isEncrypted('198.51.100.53', 443), true);
    assert.equal(custom.isEncrypted('1.1.1.1', 443), false);
    assert.equal(custom.isEncrypted('192.0.2.1', 443, 'doh.example.net'), true);
    assert.throws(() => new EncryptedDnsEndpoints(['1.1.1.300']), /not an IP address/);
  });
});
