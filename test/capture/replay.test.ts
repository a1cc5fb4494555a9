import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CaptureError, buildBpfFilter, parseLinkType, replayFile } from '../../lib/capture/index.js';
import { agentCaptureFilter } from '../../lib/pipeline/capture-filter.js';
import { DecodeStats, LinkType, PacketInfo, decodePacket } from '../../lib/decode/index.js';
import {
  ETHERTYPE_IPV4, ETHERTYPE_IPV6, ethernet, fragmentData, ipv4, ipv6, sll, sll2, tcp, udp, writePcap, TCP_SYN, type PcapFrame,
} from '../helpers/packets.js';

const v4udp = (dport: number): Buffer => ipv4({ src: '192.0.2.1', dst: '198.51.100.1', protocol: 17 }, udp({ srcPort: 40000, dstPort: dport }, Buffer.from('x')));
const v4syn = ipv4({ src: '192.0.2.1', dst: '198.51.100.1', protocol: 6 }, tcp({ srcPort: 40001, dstPort: 443, flags: TCP_SYN }));
const icmp = ipv4({ src: '192.0.2.1', dst: '198.51.100.1', protocol: 1 }, Buffer.alloc(8));
const v6 = (ext: ReturnType<typeof fragmentData> | undefined, sport: number, body: Buffer): Buffer =>
  ipv6({ src: '2001:db8::53', dst: '2001:db8::1', nextHeader: 17, extensions: ext ? [{ type: 44, data: ext }] : [] }, udp({ srcPort: sport, dstPort: 40000, length: 2000 }, body));

describe('capture: replayFile', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-capture-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('delivers every record in order with caplen, wire length, timestamp and link type', () => {
    const frames: PcapFrame[] = [
      { ts: 1700000000123.456, data: ethernet({ type: ETHERTYPE_IPV4 }, v4syn) },
      { ts: 1700000001000, data: ethernet({ type: ETHERTYPE_IPV4 }, v4udp(53)).subarray(0, 30), wireLength: 57 },
      { ts: 1700000002000, data: Buffer.alloc(0) }, // zero-length record
    ];
    const file = path.join(dir, 'basic.pcap');
    writePcap(file, LinkType.ETHERNET, frames);
    const seen: { caplen: number; wire: number; ts: number; lt: number; first: number }[] = [];
    const r = replayFile(file, (buf, caplen, wire, ts, lt, _h, at = 0) => seen.push({ caplen, wire, ts, lt, first: buf[at] }));
    assert.deepEqual(r, { packets: 3, linkType: 1, readError: false });
    assert.deepEqual(seen.map((s) => [s.caplen, s.wire, s.lt]), [[frames[0].data.length, frames[0].data.length, 1], [30, 57, 1], [0, 0, 1]]);
    assert.equal(seen[0].ts, 1700000000123.456);
    assert.equal(seen[0].first, 0x02);
  });

  it('SLL2 files (which the binding names "Unknown linktype 276") decode end to end', () => {
    const file = path.join(dir, 'sll2.pcap');
    writePcap(file, LinkType.LINUX_SLL2, [{ ts: 0, data: sll2({ protocol: 0x0800, packetType: 4 }, v4syn) }]);
    const out = new PacketInfo();
    const stats = new DecodeStats();
    const r = replayFile(file, (buf, caplen, wire, _ts, lt, _h, at) => assert.equal(decodePacket(lt, buf, caplen, out, stats, wire, at), true));
    assert.equal(r.linkType, 276);
    assert.equal(stats.decoded, 1);
    assert.equal(out.sllPacketType, 4);
    assert.equal(parseLinkType('Unknown linktype 229'), 229);
    assert.equal(parseLinkType('LINKTYPE_LINUX_SLL'), 113);
  });

  it('a file cut in the middle of a record: earlier packets delivered, readError set, no throw', () => {
    const file = path.join(dir, 'cut.pcap');
    writePcap(file, LinkType.ETHERNET, [{ ts: 0, data: ethernet({ type: ETHERTYPE_IPV4 }, v4syn) }, { ts: 1, data: ethernet({ type: ETHERTYPE_IPV4 }, v4syn) }]);
    fs.truncateSync(file, fs.statSync(file).size - 10);
    let n = 0;
    const r = replayFile(file, () => n++);
    assert.equal(n, 1);
    assert.equal(r.readError, true);
  });

  it('missing file and bad filter are CaptureErrors naming the problem', () => {
    assert.throws(() => replayFile(path.join(dir, 'nope.pcap'), () => undefined),
      (e: unknown) => e instanceof CaptureError && /cannot open capture file .*nope\.pcap: .*No such file/.test(e.message));
    const file = path.join(dir, 'ok.pcap');
    writePcap(file, LinkType.ETHERNET, [{ ts: 0, data: ethernet({ type: ETHERTYPE_IPV4 }, v4syn) }]);
    assert.throws(() => replayFile(file, () => undefined, { filter: 'tcp and and' }),
      (e: unknown) => e instanceof CaptureError && e.message.startsWith('invalid capture filter "tcp and and"'));
    assert.equal(replayFile(file, () => undefined).packets, 1, 'the file itself still replays');
  });

  it('an exception in the callback stops the replay and reaches the caller (not a process exit)', () => {
    const file = path.join(dir, 'three.pcap');
    writePcap(file, LinkType.ETHERNET, [0, 1, 2].map((ts) => ({ ts, data: ethernet({ type: ETHERTYPE_IPV4 }, v4syn) })));
    let calls = 0;
    assert.throws(() => replayFile(file, () => { calls++; throw new RangeError('consumer bug'); }), /consumer bug/);
    assert.equal(calls, 1);
    // 200 replays in a row: handles are freed (no descriptor leak).
    for (let i = 0; i < 200; i++) replayFile(file, () => undefined);
  });

  it('pauses when asked and resumes with skip: every record once, in order', () => {
    const n = 5000;
    const frames: PcapFrame[] = [];
    for (let i = 0; i < n; i++) {
      const seg = tcp({ srcPort: 40000 + (i % 20000), dstPort: 443, flags: TCP_SYN });
      frames.push({ ts: 1700000000000 + i, data: ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: '192.0.2.1', dst: '198.51.100.1', protocol: 6 }, seg)) });
    }
    const file = path.join(dir, 'many.pcap');
    writePcap(file, LinkType.ETHERNET, frames);
    const whole: number[] = [];
    assert.equal(replayFile(file, (_b, _c, _w, ts) => whole.push(ts)).packets, n);

    // Asked after every 1024 records passed on; pause at every other question.
    const parts: number[] = [];
    let asked = 0;
    let skip = 0;
    let runs = 0;
    for (;;) {
      runs++;
      const r = replayFile(file, (_b, _c, _w, ts) => parts.push(ts), { skip, shouldPause: () => ++asked % 2 === 0 });
      if (!r.paused) {
        assert.equal(r.packets, n);
        break;
      }
      assert.equal(r.packets, parts.length, 'a paused replay says how far it read');
      assert.equal(r.readError, false);
      skip = r.packets;
      assert.ok(runs < 20);
    }
    assert.ok(runs >= 3, `paused ${runs - 1} times`);
    assert.deepEqual(parts, whole, 'every record once, in order');

    // Without shouldPause nothing pauses, and skip alone passes over the first records.
    const tail: number[] = [];
    const r = replayFile(file, (_b, _c, _w, ts) => tail.push(ts), { skip: n - 3 });
    assert.equal(r.paused, undefined);
    assert.deepEqual(tail, whole.slice(n - 3));
  });
});

describe('capture: buildBpfFilter, run by libpcap over files', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-filter-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  // [name, IP packet, kept?]: what the pipeline needs is kept, the rest is not.
  const packets: [string, Buffer, boolean][] = [
    ['tcp syn', v4syn, true],
    ['udp', v4udp(9999), true],
    ['icmp', icmp, false],
    ['ipv6 udp', v6(undefined, 53, Buffer.alloc(4)), true],
    ['ipv6 first fragment', v6(fragmentData(0, true), 53, Buffer.alloc(100)), true],
    ['ipv6 later fragment', ipv6({ src: '2001:db8::53', dst: '2001:db8::1', nextHeader: 17, extensions: [{ type: 44, data: fragmentData(100, false) }] }, Buffer.alloc(60)), true],
    ['ipv6 icmp', ipv6({ src: '2001:db8::53', dst: '2001:db8::1', nextHeader: 58 }, Buffer.alloc(8)), false],
  ];
  const filter = buildBpfFilter([53, 5353]);

  /** Timestamps (= frame index) of the frames libpcap let through. */
  function kept(file: string): number[] {
    const ts: number[] = [];
    replayFile(file, (_b, _c, _w, t) => ts.push(t), { filter });
    return ts;
  }

  it('Ethernet: untagged, 802.1Q, QinQ (0x88a8 + 0x8100)', () => {
    const frames: PcapFrame[] = [];
    const expected: number[] = [];
    let ts = 0;
    for (const vlans of [[], [{ id: 10 }], [{ tpid: 0x88a8, id: 10 }, { id: 20 }]]) {
      for (const [, pkt, keep] of packets) {
        const type = (pkt[0] >> 4) === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
        frames.push({ ts, data: ethernet({ type, vlans }, pkt) });
        if (keep) expected.push(ts);
        ts++;
      }
    }
    frames.push({ ts, data: ethernet({ type: 0x0806 }, Buffer.alloc(28)) }); // ARP
    const file = path.join(dir, 'eth.pcap');
    writePcap(file, LinkType.ETHERNET, frames);
    assert.deepEqual(kept(file), expected);
  });

  it('Linux cooked v1 and v2 (the `any` device): same choices', () => {
    for (const [linkType, wrap] of [[LinkType.LINUX_SLL, sll], [LinkType.LINUX_SLL2, sll2]] as const) {
      const frames = packets.map(([, pkt], ts) => ({ ts, data: wrap({ protocol: (pkt[0] >> 4) === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4 }, pkt) }));
      const file = path.join(dir, `sll-${linkType}.pcap`);
      writePcap(file, linkType, frames);
      assert.deepEqual(kept(file), packets.flatMap(([, , keep], ts) => (keep ? [ts] : [])), `link type ${linkType}`);
    }
  });

  it('loopback traffic is dropped unless it is DNS (on a DNS port), untagged Ethernet and cooked alike', () => {
    const v4tcp = (src: string, dst: string, sport: number, dport: number): Buffer =>
      ipv4({ src, dst, protocol: 6 }, tcp({ srcPort: sport, dstPort: dport, flags: TCP_SYN }));
    const v4dns = (src: string, dst: string, sport: number, dport: number): Buffer =>
      ipv4({ src, dst, protocol: 17 }, udp({ srcPort: sport, dstPort: dport }, Buffer.from('dns')));
    const v6tcp = (src: string, dst: string, sport: number, dport: number): Buffer =>
      ipv6({ src, dst, nextHeader: 6 }, tcp({ srcPort: sport, dstPort: dport, flags: TCP_SYN }));
    const cases: [string, Buffer, boolean][] = [
      ['127.0.0.1 to 127.0.0.1, a local proxy', v4tcp('127.0.0.1', '127.0.0.1', 40000, 3128), false],
      ['127.0.0.1 to 127.0.0.2, UDP', v4dns('127.0.0.1', '127.0.0.2', 40000, 9999), false],
      ['a query to the stub resolver', v4dns('127.0.0.1', '127.0.0.53', 40000, 53), true],
      ['its answer', v4dns('127.0.0.53', '127.0.0.1', 53, 40000), true],
      ['DNS over TCP to a local cache', v4tcp('127.0.0.1', '127.0.0.1', 40001, 53), true],
      ['::1 to ::1', v6tcp('::1', '::1', 40000, 8080), false],
      ['::1 to ::1 on the second DNS port', v6tcp('::1', '::1', 5353, 40000), true],
      ['127.0.0.1 to an outside address (not loopback traffic)', v4tcp('127.0.0.1', '192.0.2.1', 40000, 443), true],
      ['an outside address to 127.0.0.1', v4tcp('198.51.100.1', '127.0.0.1', 443, 40000), true],
      ['::1 to an outside address', v6tcp('::1', '2001:db8::1', 40000, 443), true],
      ['the capture\'s own wake-up datagram to 127.0.0.1:9 (live.ts)', v4dns('127.0.0.1', '127.0.0.1', 40000, 9), true],
    ];
    const expected = cases.flatMap(([, , keep], ts) => (keep ? [ts] : []));
    const type = (pkt: Buffer): number => ((pkt[0] >> 4) === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4);
    const eth = path.join(dir, 'loopback-eth.pcap');
    writePcap(eth, LinkType.ETHERNET, cases.map(([, pkt], ts) => ({ ts, data: ethernet({ type: type(pkt) }, pkt) })));
    assert.deepEqual(kept(eth), expected);
    for (const [linkType, wrap] of [[LinkType.LINUX_SLL, sll], [LinkType.LINUX_SLL2, sll2]] as const) {
      const file = path.join(dir, `loopback-${linkType}.pcap`);
      writePcap(file, linkType, cases.map(([, pkt], ts) => ({ ts, data: wrap({ protocol: type(pkt), arphrd: 772 }, pkt) })));
      assert.deepEqual(kept(file), expected, `link type ${linkType}`);
    }
    // A proxy on loopback (ssh -D on 127.0.0.1:1080) given with --proxy: its port is kept too.
    const proxyCase = v4tcp('127.0.0.1', '127.0.0.1', 40000, 1080);
    const lp = path.join(dir, 'loopback-proxy.pcap');
    writePcap(lp, LinkType.ETHERNET, [proxyCase, ...cases.map(([, pkt]) => pkt)].map((pkt, ts) => ({ ts, data: ethernet({ type: type(pkt) }, pkt) })));
    const withProxy: number[] = [];
    replayFile(lp, (_b, _c, _w, t) => withProxy.push(t), { filter: buildBpfFilter([53, 5353], { loopbackKeepPorts: [1080] }) });
    assert.deepEqual(withProxy, [0, ...expected.map((t) => t + 1)]);
    const without: number[] = [];
    replayFile(lp, (_b, _c, _w, t) => without.push(t), { filter });
    assert.deepEqual(without, expected.map((t) => t + 1), 'not kept unless given');
    // The agent's filter does so for the ports of --proxy.
    const agents: number[] = [];
    replayFile(lp, (_b, _c, _w, t) => agents.push(t), { filter: agentCaptureFilter({ dnsPorts: [53, 5353], internalCidrs: [], externalCidrs: [], proxies: [{ port: 1080 }] }) });
    assert.deepEqual(agents, [0, ...expected.map((t) => t + 1)]);
    // An operator whose --external-cidr takes in loopback addresses keeps it all.
    const all: number[] = [];
    replayFile(eth, (_b, _c, _w, t) => all.push(t), { filter: buildBpfFilter([53, 5353], { keepLoopback: true }) });
    assert.deepEqual(all, cases.map((_, ts) => ts));
  });

  it('with internal pairs: traffic between two internal addresses is dropped, off the DNS and kept ports; every link type', () => {
    const t = (src: string, dst: string, sport: number, dport: number): Buffer => (src.includes(':')
      ? ipv6({ src, dst, nextHeader: 6 }, tcp({ srcPort: sport, dstPort: dport, flags: TCP_SYN }))
      : ipv4({ src, dst, protocol: 6 }, tcp({ srcPort: sport, dstPort: dport, flags: TCP_SYN })));
    const u = (src: string, dst: string, sport: number, dport: number): Buffer => (src.includes(':')
      ? ipv6({ src, dst, nextHeader: 17 }, udp({ srcPort: sport, dstPort: dport }, Buffer.from('x')))
      : ipv4({ src, dst, protocol: 17 }, udp({ srcPort: sport, dstPort: dport }, Buffer.from('x'))));
    const cases: [string, Buffer, boolean][] = [
      ['pod to pod', t('10.244.1.5', '10.244.2.7', 40000, 5432), false],
      ['its answer', t('10.244.2.7', '10.244.1.5', 5432, 40000), false],
      ['node to a CGNAT peer, UDP', u('192.168.1.10', '100.64.3.4', 40000, 4789), false],
      ['across two private ranges', t('172.16.0.9', '192.168.1.1', 40000, 22), false],
      ['to the cloud metadata address', t('10.0.0.5', '169.254.169.254', 40000, 80), false],
      ['ULA to ULA', t('fd00::1', 'fd00::2', 40000, 6379), false],
      ['link-local to ULA', u('fe80::1', 'fd12::3', 40000, 5000), false],
      ['inside an --internal-cidr range', t('198.18.0.1', '198.18.0.2', 40000, 443), false],
      ['a query to an internal resolver', u('10.0.0.5', '10.0.0.53', 40000, 53), true],
      ['its answer', u('10.0.0.53', '10.0.0.5', 53, 40000), true],
      ['on the second DNS port', u('10.0.0.5', '10.0.0.53', 40000, 5353), true],
      ['to an internal proxy (a kept port)', t('10.0.0.5', '10.0.0.3', 40000, 3128), true],
      ['the proxy\'s answer', t('10.0.0.3', '10.0.0.5', 3128, 40000), true],
      ['internal to external', t('10.0.0.5', '203.0.113.9', 40000, 443), true],
      ['external to internal', t('203.0.113.9', '10.0.0.5', 443, 40000), true],
      ['inside an --external-cidr carved out of 10/8: all of 10/8 is kept', t('10.5.0.1', '10.9.0.1', 40000, 443), true],
      ['ULA to a global address', t('fd00::1', '2001:db8::1', 40000, 443), true],
      ['loopback stays as before', t('127.0.0.1', '127.0.0.1', 40000, 5432), false],
      ['a fragmented DNS answer between two ULAs: the first fragment', ipv6({ src: 'fd00::53', dst: 'fd00::5', nextHeader: 17, extensions: [{ type: 44, data: fragmentData(0, true) }] }, udp({ srcPort: 53, dstPort: 40000 }, Buffer.alloc(100))), true],
      ['and a later one', ipv6({ src: 'fd00::53', dst: 'fd00::5', nextHeader: 17, extensions: [{ type: 44, data: fragmentData(100, false) }] }, Buffer.alloc(60)), true],
    ];
    const opts = { ranges: ['172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', 'fc00::/7', 'fe80::/10', '198.18.0.0/15'], keepPorts: [3128] };
    const pairFilter = buildBpfFilter([53, 5353], { internalPairs: opts });
    const withTen = buildBpfFilter([53, 5353], { internalPairs: { ...opts, ranges: ['10.0.0.0/8', ...opts.ranges] } });
    const carved = cases.findIndex(([name]) => name.startsWith('inside an --external-cidr'));
    const type = (pkt: Buffer): number => ((pkt[0] >> 4) === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4);
    const files: [string, string][] = [];
    const eth = path.join(dir, 'pairs-eth.pcap');
    writePcap(eth, LinkType.ETHERNET, cases.map(([, pkt], ts) => ({ ts, data: ethernet({ type: type(pkt) }, pkt) })));
    files.push([eth, 'ethernet']);
    for (const [linkType, wrap] of [[LinkType.LINUX_SLL, sll], [LinkType.LINUX_SLL2, sll2]] as const) {
      const file = path.join(dir, `pairs-${linkType}.pcap`);
      writePcap(file, linkType, cases.map(([, pkt], ts) => ({ ts, data: wrap({ protocol: type(pkt) }, pkt) })));
      files.push([file, `link type ${linkType}`]);
    }
    const through = (file: string, f: string): number[] => {
      const ts: number[] = [];
      replayFile(file, (_b, _c, _w, x) => ts.push(x), { filter: f });
      return ts;
    };
    for (const [file, what] of files) {
      // 10/8 left out of the ranges (an --external-cidr overlaps it): the pods' traffic is kept too.
      const keptWithout = cases.flatMap(([, pkt, keep], ts) => (keep || (pkt[0] >> 4 === 4 && pkt[12] === 10) ? [ts] : []));
      assert.deepEqual(through(file, pairFilter), keptWithout, `${what}, without 10/8`);
      assert.deepEqual(through(file, withTen), cases.flatMap(([, , keep], ts) => (keep && ts !== carved ? [ts] : [])), `${what}, with 10/8`);
    }
    // A tagged frame is kept whole: the ranges (and loopback) are matched in the untagged IP header only.
    const tagged = path.join(dir, 'pairs-vlan.pcap');
    writePcap(tagged, LinkType.ETHERNET, cases.map(([, pkt], ts) => ({ ts, data: ethernet({ type: type(pkt), vlans: [{ id: 10 }] }, pkt) })));
    assert.deepEqual(through(tagged, withTen), cases.map((_, ts) => ts));
  });

  it('rejects empty or out-of-range DNS ports', () => {
    assert.throws(() => buildBpfFilter([]), CaptureError);
    assert.throws(() => buildBpfFilter([0]), /dns port 0/);
    assert.throws(() => buildBpfFilter([70000]), CaptureError);
    assert.equal(buildBpfFilter([53, 53]).match(/port 53/g)?.length, 1, 'a port given twice is one clause');
  });
});
