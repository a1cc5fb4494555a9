// A live capture on several interfaces (--interface a --interface b): a packet this host forwards
// from one to the other (a router, a VM host) is delivered by both handles, each saying which it
// is (PacketCallback's handle). It is counted once; two packets on one interface stay two, and so
// does everything a capture on one interface delivers.
import assert from 'node:assert/strict';
import { testPipeline } from '../helpers/pipeline.js';
import { ethernet, ipv4, tcp, ETHERTYPE_IPV4, TCP_ACK, TCP_FIN, TCP_SYN } from '../helpers/packets.js';

const ETHERNET = 1;

function segment(o: { src: string; dst: string; srcPort: number; dstPort: number; flags: number; seq: number; ack: number; len: number; id: number }): Buffer {
  return ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: o.src, dst: o.dst, protocol: 6, id: o.id },
    tcp({ srcPort: o.srcPort, dstPort: o.dstPort, flags: o.flags, seq: o.seq, ack: o.ack }, Buffer.alloc(o.len))));
}

describe('pipeline: a capture on several interfaces', () => {
  it('counts a packet delivered by two interfaces once, two packets on one interface twice', async () => {
    const alerts: Record<string, any>[] = [];
    const p = testPipeline((a) => alerts.push(a), { settings: { alertDelayMs: 60_000 } });
    const feed = (frame: Buffer, t: number, handle?: number): void => p.onPacket(frame, frame.length, frame.length, t, ETHERNET, handle);
    const syn = segment({ src: '10.0.0.5', dst: '203.0.113.10', srcPort: 40000, dstPort: 443, flags: TCP_SYN, seq: 1000, ack: 0, len: 0, id: 1 });
    const data = segment({ src: '203.0.113.10', dst: '10.0.0.5', srcPort: 443, dstPort: 40000, flags: TCP_ACK, seq: 5000, ack: 1001, len: 1000, id: 7 });
    // Forwarded: in on one interface, out on the other, microseconds apart.
    feed(syn, 1000, 0);
    feed(syn, 1000.01, 1);
    feed(data, 1002, 1);
    feed(data, 1002.01, 0);
    assert.equal(p.flows.stats.copies, 2);
    // The same bytes twice on one interface (a test generator's, a retransmission): two packets.
    feed(data, 1010, 0);
    feed(data, 1010.01, 0);
    // A capture on one interface says no handle: every packet counts.
    feed(data, 1020);
    feed(data, 1020.01);
    assert.equal(p.flows.stats.copies, 2);
    await p.finish();
    assert.equal(alerts.length, 1);
    const a = alerts[0];
    assert.deepEqual([a.source.packets, a.source.bytes], [1, 40]);
    assert.deepEqual([a.destination.packets, a.destination.bytes], [5, 5 * 1040]);
  });

  it('finds the copies a whole backlog later: one interface\'s buffer read to its end before the other\'s', async () => {
    const alerts: Record<string, any>[] = [];
    const p = testPipeline((a) => alerts.push(a), { settings: { alertDelayMs: 60_000 } });
    const feed = (frame: Buffer, t: number, handle: number): void => p.onPacket(frame, frame.length, frame.length, t, ETHERNET, handle);
    const syn = segment({ src: '10.0.0.5', dst: '203.0.113.10', srcPort: 40000, dstPort: 443, flags: TCP_SYN, seq: 1000, ack: 0, len: 0, id: 1 });
    feed(syn, 1000, 0);
    feed(syn, 1000.001, 1);
    // 8,192 packets: the kernel ring of one interface at the default settings. Captured in pairs
    // microseconds apart, read as one interface's whole backlog and then the other's.
    const N = 8192;
    const data = Array.from({ length: N }, (_, i) => segment({ src: '203.0.113.10', dst: '10.0.0.5', srcPort: 443, dstPort: 40000, flags: TCP_ACK,
      seq: 5000 + i * 100, ack: 1001, len: 100, id: (i + 7) & 0xffff }));
    for (let i = 0; i < N; i++) feed(data[i], 1001 + i * 0.01, 0);
    for (let i = 0; i < N; i++) feed(data[i], 1001 + i * 0.01 + 0.005, 1);
    await p.finish();
    assert.equal(alerts.length, 1);
    const got = alerts[0].destination.packets;
    // A cooked capture's table (2,048 entries) found almost none of them.
    assert.ok(got >= N && got <= N * 1.05, `server packets ${got} for ${N} sent (each captured twice)`);
  });
});

// A capture of named interfaces delivers Ethernet frames, with no Linux cooked header to say a
// packet was sent by this host or arrived from another machine. The frame's source hardware
// address says it: one of this host's interfaces' (HostAddresses), or another machine's, whose
// connection this host forwards (a router's client, a VM host's guest): egresswatch.flow.forwarded.
describe('pipeline: forwarded connections on a capture of named interfaces', () => {
  const OWN = '02:00:00:00:00:0a';
  const CLIENT = '02:00:00:00:00:0b';
  const ownMac = parseInt(OWN.replace(/:/g, ''), 16);
  const own = { has: () => false, sentByThisHost: (mac: number) => mac === ownMac };
  const syn = (src: string, mac: string, srcPort: number, seq: number, dst = '203.0.113.10'): Buffer => ethernet({ type: ETHERTYPE_IPV4, src: mac },
    ipv4({ src, dst, protocol: 6, id: 9 }, tcp({ srcPort, dstPort: 443, flags: TCP_SYN, seq, ack: 0 }, Buffer.alloc(0))));

  async function run(frames: [Buffer, number?][], opts: { hostAddresses?: unknown; ignoreForwarded?: boolean } = {}) {
    const alerts: Record<string, any>[] = [];
    const p = testPipeline((a) => alerts.push(a), { settings: { ignoreForwarded: opts.ignoreForwarded }, deps: { hostAddresses: ('hostAddresses' in opts ? opts.hostAddresses : own) as never } });
    frames.forEach(([frame, handle], i) => p.onPacket(frame, frame.length, frame.length, 1000 + i * 0.01, ETHERNET, handle));
    await p.finish();
    return { alerts, p };
  }

  it('a connection whose first frame came from another machine\'s address is forwarded; one from this host\'s is not', async () => {
    // Two destinations: one domain group is judged once a minute.
    const { alerts } = await run([[syn('10.98.0.2', CLIENT, 40000, 1000)], [syn('10.0.0.5', OWN, 40001, 2000, '203.0.113.11')]]);
    assert.equal(alerts.length, 2);
    const by = new Map(alerts.map((a) => [a.source.ip, a]));
    assert.equal(by.get('10.98.0.2')?.egresswatch.flow.forwarded, true);
    assert.match(by.get('10.98.0.2')?.message, /10\.98\.0\.2 \(forwarded by this host/);
    assert.equal(by.get('10.0.0.5')?.egresswatch.flow.forwarded, undefined);
  });

  it('on two interfaces, the copy sent on the way out read before the one that arrived: still forwarded', async () => {
    const { alerts, p } = await run([[syn('10.98.0.2', OWN, 40000, 1000), 1], [syn('10.98.0.2', CLIENT, 40000, 1000), 0]]);
    assert.equal(p.flows.stats.copies, 1);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].egresswatch.flow.forwarded, true);
  });

  it('a router that also translates: the translated copy read first, the client\'s after: one connection, forwarded, from the client', async () => {
    const { alerts, p } = await run([[syn('198.51.100.5', OWN, 61000, 1000), 1], [syn('10.98.0.2', CLIENT, 40000, 1000), 0]]);
    assert.equal(p.flows.stats.natDuplicates, 1);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].egresswatch.flow.forwarded, true);
    // As on `any` (the client's copy first): the source is the client, not the router's translated address.
    assert.deepEqual([alerts[0].source.ip, alerts[0].source.port], ['10.98.0.2', 40000]);
    assert.match(alerts[0].message, /^10\.98\.0\.2 \(forwarded by this host/);
  });

  for (const translated of [false, true]) {
    it(`one interface hands over a whole short connection before the other its copies: one connection, its bytes once, forwarded${translated ? ' (translated: from the client)' : ''}`, async () => {
      // A router: the client 10.98.0.2 (CLIENT's frames on the way in, handle 0) to the server, out
      // with the router's own hardware address as the frames' source (handle 1), and its own IP
      // address and port when it translates. The way out is read first.
      const conn = (srcMac: string, dstMac: string, client: string, port: number): Buffer[] => {
        const c = (flags: number, seq: number, ack: number, len: number, id: number): Buffer => ethernet({ type: ETHERTYPE_IPV4, src: srcMac },
          ipv4({ src: client, dst: '203.0.113.10', protocol: 6, id }, tcp({ srcPort: port, dstPort: 443, flags, seq, ack }, Buffer.alloc(len))));
        const s = (flags: number, seq: number, ack: number, len: number, id: number): Buffer => ethernet({ type: ETHERTYPE_IPV4, src: dstMac },
          ipv4({ src: '203.0.113.10', dst: client, protocol: 6, id }, tcp({ srcPort: 443, dstPort: port, flags, seq, ack }, Buffer.alloc(len))));
        return [c(TCP_SYN, 1000, 0, 0, 1), s(TCP_SYN | TCP_ACK, 5000, 1001, 0, 0), c(TCP_ACK, 1001, 5001, 100, 2), s(TCP_ACK, 5001, 1101, 1400, 3),
          c(TCP_FIN | TCP_ACK, 1101, 6401, 0, 4), s(TCP_FIN | TCP_ACK, 6401, 1102, 0, 5), c(TCP_ACK, 1102, 6402, 0, 6)];
      };
      const out = translated ? conn(OWN, '02:00:00:00:00:0c', '198.51.100.5', 61000) : conn(OWN, '02:00:00:00:00:0c', '10.98.0.2', 40000);
      const inn = conn(CLIENT, OWN, '10.98.0.2', 40000);
      // run() times the frames 10 µs apart: each copy comes 70 µs after its original.
      const { alerts, p } = await run([...out.map((f): [Buffer, number] => [f, 1]), ...inn.map((f): [Buffer, number] => [f, 0])]);
      assert.equal(p.flows.stats.outbound, 1, 'one connection');
      // The way in's copies up to its client's FIN (the last two start nothing and are not counted).
      assert.equal(p.flows.stats.copies, 5);
      assert.equal(alerts.length, 1);
      const a = alerts[0];
      assert.deepEqual([a.source.packets, a.destination.packets, a.destination.bytes], [3, 3, 40 + 1440 + 40]);
      assert.deepEqual(a.egresswatch.connections, { count: 1, answered: 1, source_bytes: a.source.bytes, destination_bytes: a.destination.bytes });
      assert.equal(a.egresswatch.flow.forwarded, true);
      assert.deepEqual([a.source.ip, a.source.port], ['10.98.0.2', 40000]);
    });
  }

  it('--ignore-forwarded leaves another machine\'s connection unjudged and judges this host\'s', async () => {
    const { alerts, p } = await run([[syn('10.98.0.2', CLIENT, 40000, 1000)], [syn('10.0.0.5', OWN, 40001, 2000, '203.0.113.11')]], { ignoreForwarded: true });
    assert.deepEqual(alerts.map((a) => a.source.ip), ['10.0.0.5']);
    assert.equal(p.stats.forwardedIgnored, 1);
  });

  it('without this host\'s hardware addresses (a replay; none could be read) nothing is taken as forwarded', async () => {
    for (const hostAddresses of [undefined, { has: () => false, sentByThisHost: () => undefined }]) {
      const { alerts } = await run([[syn('10.98.0.2', CLIENT, 40000, 1000)]], { hostAddresses });
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0].egresswatch.flow.forwarded, undefined);
    }
  });
});
