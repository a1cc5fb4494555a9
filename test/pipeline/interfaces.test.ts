// A live capture on several interfaces (--interface a --interface b): a packet this host forwards
// from one to the other (a router, a VM host) is delivered by both handles, each saying which it
// is (PacketCallback's handle). It is counted once; two packets on one interface stay two, and so
// does everything a capture on one interface delivers.
import assert from 'node:assert/strict';
import { testPipeline } from '../helpers/pipeline.js';
import { ethernet, ipv4, tcp, ETHERTYPE_IPV4, TCP_ACK, TCP_SYN } from '../helpers/packets.js';

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
});
