// Connections to this host's own addresses (live: PipelineDeps.hostAddresses) came in: a client
// of a service here. Not judged, however external the address; counted (connections_inbound).
// The address list itself (host-addresses.ts): zone ids dropped, IPv6 in packet text, the last
// list kept when reading fails.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import winston from 'winston';
import type { Pipeline } from '../../lib/pipeline/index.js';
import { HostAddresses, kernelLocalAddresses, macNumber } from '../../lib/pipeline/host-addresses.js';
import { u48 } from '../../lib/decode/index.js';
import { fibTrieText } from '../procfs/netns-faketree.js';
import { ethernet, ipv4, ipv6, tcp, udp, ETHERTYPE_IPV4, ETHERTYPE_IPV6, TCP_SYN } from '../helpers/packets.js';
import { testPipeline } from '../helpers/pipeline.js';

const iface = (address: string, family: 'IPv4' | 'IPv6', internal = false): os.NetworkInterfaceInfo =>
  ({ address, family, netmask: '', mac: '00:00:00:00:00:00', internal, cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) }) as os.NetworkInterfaceInfo;

/** A pipeline as the live agent makes it (an attributor, this host's addresses), every new destination novel. */
function livePipeline(own: Set<string>, emit: (a: any) => void, logger = winston.createLogger({ silent: true })): Pipeline {
  return testPipeline(emit, { settings: { externalCidrs: ['203.0.113.0/24', '198.51.100.0/24', '2001:db8::/32'] }, deps: { hostAddresses: own, logger } });
}

describe('pipeline: connections to this host\'s own addresses', () => {
  it('HostAddresses: every interface\'s addresses as packet text, zone ids dropped, loopback addresses left to the classifier; a failed read keeps the last list', () => {
    let fail = false;
    const own = new HostAddresses(() => {
      if (fail) throw new Error('getifaddrs failed');
      return {
        // A service address on lo (direct server return, anycast) is the host's too.
        lo: [iface('127.0.0.1', 'IPv4', true), iface('127.0.1.1', 'IPv4', true), iface('::1', 'IPv6', true), iface('198.51.100.80', 'IPv4', true)],
        eth0: [iface('203.0.113.5', 'IPv4'), iface('2001:DB8:0:0::0:5', 'IPv6'), iface('fe80::1%eth0', 'IPv6')], down: undefined,
      };
    }, () => []);
    for (const ip of ['203.0.113.5', '2001:db8::5', 'fe80::1', '198.51.100.80']) assert.equal(own.has(ip), true, ip);
    // --external-cidr 127.0.0.0/8 (a test world on lo) still makes connections to 127.0.0.1 judged.
    for (const ip of ['203.0.113.6', '127.0.0.1', '127.0.1.1', '::1']) assert.equal(own.has(ip), false, ip);
    assert.equal(own.size, 4);
    fail = true;
    own.refresh();
    assert.deepEqual(own.stats, { refreshes: 1, errors: 1 });
    assert.equal(own.has('203.0.113.5'), true, 'kept');
  });

  it('HostAddresses: the interfaces\' hardware addresses tell a frame this host sent from another machine\'s; none read: not known', () => {
    let list: NodeJS.Dict<os.NetworkInterfaceInfo[]> = {};
    const own = new HostAddresses(() => list, () => []);
    assert.equal(own.sentByThisHost(0x02fc00000001), undefined, 'nothing listed: not known');
    const withMac = (mac: string): os.NetworkInterfaceInfo => ({ ...iface('203.0.113.5', 'IPv4'), mac });
    list = { lo: [iface('127.0.0.1', 'IPv4', true)], eth0: [withMac('02:FC:00:00:00:01')], br0: [withMac('fe:54:00:12:34:56')], bad: [withMac('not a mac')] };
    own.refresh();
    assert.equal(own.sentByThisHost(0x02fc00000001), true);
    assert.equal(own.sentByThisHost(0xfe5400123456), true, 'a value past 2^31 reads as itself');
    assert.equal(own.sentByThisHost(0), true, 'lo\'s all-zero address (a capture of lo)');
    assert.equal(own.sentByThisHost(0x525400abcdef), false, 'a guest\'s');
    // A captured interface without an address (a bond's port sending with its own): read from sysfs.
    const withPort = new HostAddresses(() => list, () => [], ['eth1', 'gone'], (name) => (name === 'eth1' ? '02:fc:00:00:00:02' : undefined));
    assert.equal(withPort.sentByThisHost(0x02fc00000002), true);
    assert.equal(withPort.sentByThisHost(0x02fc00000001), true);
    assert.equal(own.sentByThisHost(0x02fc00000002), false);
    assert.equal(macNumber('02:fc:00:00:00:01'), u48(Buffer.from('02fc00000001', 'hex'), 0));
    assert.equal(macNumber('02:fc:00:00:00'), undefined);
  });

  it('HostAddresses: the kernel\'s local addresses too (an interface that is down: IPVS puts service addresses on its kube-ipvs0)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-hostaddr-'));
    try {
      fs.writeFileSync(path.join(dir, 'fib_trie'), fibTrieText(['127.0.0.1', '10.0.0.5', '203.0.113.200']));
      fs.writeFileSync(path.join(dir, 'if_inet6'), '20010db8000000000000000000000077 03 40 00 80 kube-ipvs0\n00000000000000000000000000000001 01 80 10 80 lo\n');
      assert.deepEqual(kernelLocalAddresses(dir).sort(), ['10.0.0.5', '127.0.0.1', '203.0.113.200', '2001:db8::77', '::1'].sort());
      const own = new HostAddresses(() => ({ eth0: [iface('10.0.0.5', 'IPv4')] }), () => kernelLocalAddresses(dir));
      for (const ip of ['10.0.0.5', '203.0.113.200', '2001:db8::77']) assert.equal(own.has(ip), true, ip);
      for (const ip of ['127.0.0.1', '::1']) assert.equal(own.has(ip), false, ip);
      assert.deepEqual(kernelLocalAddresses(path.join(dir, 'missing')), [], 'unreadable: none, no throw');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an inbound connection to an external address of this host is not judged; outbound ones from it are', async () => {
    const alerts: any[] = [];
    const p = livePipeline(new Set(['203.0.113.5', '2001:db8::5']), (a) => alerts.push(a));
    const v4 = (src: string, dst: string, sport: number, dport: number, l4: 'tcp' | 'udp'): Buffer => ethernet({ type: ETHERTYPE_IPV4 },
      ipv4({ src, dst, protocol: l4 === 'tcp' ? 6 : 17 }, l4 === 'tcp' ? tcp({ srcPort: sport, dstPort: dport, flags: TCP_SYN, seq: 9 }) : udp({ srcPort: sport, dstPort: dport }, Buffer.from('hello'))));
    const frames = [
      v4('198.51.100.7', '203.0.113.5', 51000, 22, 'tcp'), // a client of sshd here
      v4('198.51.100.8', '203.0.113.5', 40000, 51820, 'udp'), // a WireGuard peer
      ethernet({ type: ETHERTYPE_IPV6 }, ipv6({ src: '2001:db8:9::7', dst: '2001:db8::5', nextHeader: 6 }, tcp({ srcPort: 51001, dstPort: 443, flags: TCP_SYN }))),
      v4('203.0.113.5', '198.51.100.9', 40001, 443, 'tcp'), // this host going out
    ];
    let t = 1000;
    for (const f of frames) p.onPacket(f, f.length, f.length, t++, 1);
    await p.finish();
    assert.deepEqual(alerts.map((a) => `${a.destination.ip}:${a.destination.port}`), ['198.51.100.9:443']);
    assert.equal(p.stats.connectionsInbound, 3);
  });

  it('internet scanners trying this host\'s public address for an open proxy are not taken for a proxy of its own', async () => {
    const warned: string[] = [];
    const logger = winston.createLogger({ level: 'info', transports: [new winston.transports.Console({ silent: true })] });
    logger.on('data', (info: { message: string }) => warned.push(info.message));
    const p = livePipeline(new Set(['203.0.113.5']), () => undefined, logger);
    let t = 1000;
    for (let i = 0; i < 4; i++) {
      const seg = (src: string, dst: string, sport: number, dport: number, flags: number, data?: Buffer): Buffer =>
        ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src, dst, protocol: 6 }, tcp({ srcPort: sport, dstPort: dport, flags, seq: 100 }, data)));
      const port = 50000 + i;
      for (const f of [seg('198.51.100.7', '203.0.113.5', port, 8080, TCP_SYN), seg('203.0.113.5', '198.51.100.7', 8080, port, TCP_SYN | 0x10),
        seg('198.51.100.7', '203.0.113.5', port, 8080, 0x18, Buffer.from('CONNECT example.org:443 HTTP/1.1\r\n\r\n'))]) {
        p.onPacket(f, f.length, f.length, t++, 1);
      }
    }
    await p.finish();
    assert.equal(p.stats.connectionsInbound, 4);
    assert.equal(p.stats.unconfiguredProxyRequests, 0);
    assert.ok(!warned.some((m) => /not told of/.test(m)), warned.join('\n'));
  });
});
