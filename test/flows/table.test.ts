import assert from 'node:assert/strict';
import { addressToString, decodePacket, DecodeStats, LinkType, PacketInfo } from '../../lib/decode/index.js';
import { ANSWERED, FlowTable, NOT_ANSWERED, REFUSED, type Flow, type FlowEndReason } from '../../lib/flows/index.js';
import { ethernet, ipv4, ipv6, sll, sll2, tcp, udp, ETHERTYPE_IPV4, ETHERTYPE_IPV6, TCP_SYN, TCP_ACK, TCP_FIN, TCP_RST } from '../helpers/packets.js';

const EXTERNAL = /^(203\.0\.113\.|2001:db8:1::)/;

function harness(maxFlows = 100) {
  const started: Flow[] = [];
  const ended: [Flow, FlowEndReason][] = [];
  const table = new FlowTable({ maxFlows, tcpIdleMs: 300_000, udpIdleMs: 60_000 }, {
    accept: (p) => EXTERNAL.test(addressToString(p.buf, p.dstOffset, p.ipVersion === 6 ? 6 : 4)),
    onStart: (f) => started.push(f),
    onEnd: (f, r) => ended.push([f, r]),
  });
  const pkt = new PacketInfo();
  const stats = new DecodeStats();
  const feed = (frame: Buffer, now: number, linkType = 1): void => {
    assert.ok(decodePacket(linkType, frame, frame.length, pkt, stats), 'frame decodes');
    table.process(pkt, now);
  };
  return { table, started, ended, feed };
}

const t4 = (src: string, dst: string, sp: number, dp: number, flags: number, len = 0, seq = 1000) =>
  ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src, dst, protocol: 6 }, tcp({ srcPort: sp, dstPort: dp, flags, seq }, Buffer.alloc(len))));
const u4 = (src: string, dst: string, sp: number, dp: number, len: number) =>
  ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src, dst, protocol: 17 }, udp({ srcPort: sp, dstPort: dp }, Buffer.alloc(len))));

describe('flows/table', () => {
  it('starts a TCP connection at SYN, counts both ways, ends when both sides sent FIN', () => {
    const h = harness();
    h.feed(t4('10.0.0.5', '203.0.113.10', 40000, 443, TCP_SYN), 1);
    h.feed(t4('203.0.113.10', '10.0.0.5', 443, 40000, TCP_SYN | TCP_ACK), 2);
    h.feed(t4('10.0.0.5', '203.0.113.10', 40000, 443, TCP_ACK, 100), 3);
    h.feed(t4('203.0.113.10', '10.0.0.5', 443, 40000, TCP_ACK, 1000), 4);
    assert.equal(h.started.length, 1);
    const f = h.started[0];
    assert.equal(f.clientIp, '10.0.0.5');
    assert.equal(f.serverIp, '203.0.113.10');
    assert.equal(f.serverPort, 443);
    assert.equal(f.clientBytes, 40 + 140);
    assert.equal(f.serverBytes, 40 + 1040);
    assert.equal(f.clientPackets, 2);
    assert.equal(f.serverPackets, 2);
    h.feed(t4('10.0.0.5', '203.0.113.10', 40000, 443, TCP_FIN | TCP_ACK), 5);
    assert.equal(h.ended.length, 0, 'one FIN is a half-close');
    h.feed(t4('203.0.113.10', '10.0.0.5', 443, 40000, TCP_FIN | TCP_ACK), 6);
    assert.deepEqual(h.ended.map(([x, r]) => [x, r]), [[f, 'fin']]);
    assert.equal(f.ended, true);
    assert.equal(f.lastTime, 6);
  });

  it('records how the server answered: a SYN-ACK, a RST (refused), nothing; for UDP any reply', () => {
    const h = harness();
    h.feed(t4('10.0.0.5', '203.0.113.10', 40000, 443, TCP_SYN), 1);
    h.feed(t4('10.0.0.5', '203.0.113.11', 40001, 443, TCP_SYN), 1);
    h.feed(t4('10.0.0.5', '203.0.113.12', 40002, 443, TCP_SYN), 1);
    h.feed(u4('10.0.0.5', '203.0.113.13', 40003, 443, 50), 1);
    h.feed(u4('10.0.0.5', '203.0.113.14', 40004, 514, 50), 1);
    const [ok, refused, silent, udpAnswered, udpOneWay] = h.started;
    assert.ok([ok, refused, silent, udpAnswered, udpOneWay].every((f) => f.answer === NOT_ANSWERED));
    h.feed(t4('203.0.113.10', '10.0.0.5', 443, 40000, TCP_SYN | TCP_ACK), 2);
    h.feed(t4('203.0.113.11', '10.0.0.5', 443, 40001, TCP_RST | TCP_ACK), 2);
    h.feed(t4('10.0.0.5', '203.0.113.12', 40002, 443, TCP_SYN), 1001); // the client's retransmission
    h.feed(u4('203.0.113.13', '10.0.0.5', 443, 40003, 30), 2);
    assert.equal(ok.answer, ANSWERED);
    assert.equal(refused.answer, REFUSED);
    assert.equal(silent.answer, NOT_ANSWERED);
    assert.equal(udpAnswered.answer, ANSWERED);
    assert.equal(udpOneWay.answer, NOT_ANSWERED);
    // A RST after the handshake is a reset, not a refusal: the answer stays.
    h.feed(t4('203.0.113.10', '10.0.0.5', 443, 40000, TCP_RST | TCP_ACK), 3);
    assert.equal(ok.answer, ANSWERED);
  });

  it('ends on RST and starts anew when the 5-tuple is reused', () => {
    const h = harness();
    h.feed(t4('10.0.0.5', '203.0.113.10', 40000, 443, TCP_SYN), 1);
    h.feed(t4('203.0.113.10', '10.0.0.5', 443, 40000, TCP_RST | TCP_ACK), 2);
    assert.equal(h.ended[0][1], 'rst');
    h.feed(t4('10.0.0.5', '203.0.113.10', 40000, 443, TCP_SYN), 3);
    assert.equal(h.started.length, 2);
    assert.notEqual(h.started[0], h.started[1]);
  });

  it('ignores retransmitted SYNs and connections to internal addresses', () => {
    const h = harness();
    h.feed(t4('10.0.0.5', '10.9.9.9', 40001, 443, TCP_SYN), 2);
    h.feed(t4('10.9.9.9', '10.0.0.5', 443, 40001, TCP_SYN | TCP_ACK), 3);
    assert.equal(h.started.length, 0);
    assert.equal(h.table.stats.ignored, 1);
    assert.equal(h.table.stats.tcpStarts, 1);
    h.feed(t4('10.0.0.5', '203.0.113.10', 40002, 443, TCP_SYN), 4);
    h.feed(t4('10.0.0.5', '203.0.113.10', 40002, 443, TCP_SYN), 1004); // retransmitted after the 1 s initial RTO
    assert.equal(h.started.length, 1);
    assert.equal(h.started[0].clientPackets, 2);
  });

  it('takes up a connection mid-stream at a client data packet (ephemeral port to a service), nothing else without a SYN', () => {
    const h = harness();
    // Not taken up: a pure ACK, a FIN, a RST, the server's data (the service port's side), both ports high.
    h.feed(t4('10.0.0.5', '203.0.113.10', 40000, 443, TCP_ACK), 1);
    h.feed(t4('10.0.0.5', '203.0.113.10', 40000, 443, TCP_FIN | TCP_ACK, 10), 1);
    h.feed(t4('10.0.0.5', '203.0.113.10', 40000, 443, TCP_RST | TCP_ACK, 10), 1);
    h.feed(t4('203.0.113.10', '10.0.0.5', 443, 40000, TCP_ACK, 1000), 1);
    h.feed(t4('10.0.0.5', '203.0.113.10', 40000, 50000, TCP_ACK, 10), 1);
    assert.equal(h.started.length, 0);
    assert.equal(h.table.stats.tcpMidstream, 0);
    // The client's data: the connection is taken up, answered (it is established), counted from here.
    h.feed(t4('10.0.0.5', '203.0.113.10', 40000, 443, TCP_ACK, 100), 2);
    assert.equal(h.started.length, 1);
    const f = h.started[0];
    assert.deepEqual([f.clientIp, f.clientPort, f.serverIp, f.serverPort, f.midstream, f.answer], ['10.0.0.5', 40000, '203.0.113.10', 443, true, ANSWERED]);
    h.feed(t4('203.0.113.10', '10.0.0.5', 443, 40000, TCP_ACK, 1000), 3);
    assert.deepEqual([f.clientPackets, f.serverPackets, f.serverBytes], [1, 1, 1040]);
    assert.deepEqual([h.table.stats.tcpMidstream, h.table.stats.tcpStarts], [1, 0]);
    // To an internal address: taken up as ignored, like a SYN would be.
    h.feed(t4('10.0.0.5', '10.9.9.9', 40001, 5432, TCP_ACK, 50), 4);
    assert.equal(h.started.length, 1);
    assert.equal(h.table.stats.ignored, 1);
  });

  it("UDP: a service's datagram to an ephemeral port starts nothing; the client's next one starts the flow the right way round", () => {
    const h = harness();
    h.feed(u4('203.0.113.10', '10.0.0.5', 443, 51000, 1200), 1); // a QUIC server's packet, the connection older than the capture
    assert.deepEqual([h.started.length, h.table.stats.udpStarts, h.table.stats.udpServerFirst, h.table.stats.ignored], [0, 0, 1, 0]);
    h.feed(u4('10.0.0.5', '203.0.113.10', 51000, 443, 60), 2);
    assert.equal(h.started.length, 1);
    assert.deepEqual([h.started[0].clientIp, h.started[0].serverIp, h.started[0].serverPort], ['10.0.0.5', '203.0.113.10', 443]);
    // A client bound to a reserved port (an NFS client, 2049 is below the ephemeral range) starts as always.
    h.feed(u4('10.0.0.5', '203.0.113.11', 700, 2049, 100), 3);
    assert.equal(h.started.length, 2);
  });

  it("hands the client's first data of an untracked connection on a proxy's port to onProxyPortPayload, once", () => {
    const seen: string[] = [];
    const table = new FlowTable({ maxFlows: 100, tcpIdleMs: 300_000, udpIdleMs: 60_000 }, {
      accept: () => false,
      onStart: () => undefined,
      onEnd: () => undefined,
      onProxyPortPayload: (p) => seen.push(`${p.srcPort}>${p.dstPort} ${p.payloadLength}`),
    });
    const pkt = new PacketInfo();
    const feed = (frame: Buffer): void => {
      assert.ok(decodePacket(1, frame, frame.length, pkt, new DecodeStats()));
      table.process(pkt, 1);
    };
    feed(t4('10.0.0.5', '10.0.0.8', 40000, 3128, TCP_SYN));
    feed(t4('10.0.0.8', '10.0.0.5', 3128, 40000, TCP_ACK, 30)); // the proxy speaks first: not the client's
    feed(t4('10.0.0.5', '10.0.0.8', 40000, 3128, TCP_ACK, 60));
    feed(t4('10.0.0.5', '10.0.0.8', 40000, 3128, TCP_ACK, 70));
    feed(t4('10.0.0.5', '10.0.0.9', 40001, 5432, TCP_SYN)); // not a proxy's port
    feed(t4('10.0.0.5', '10.0.0.9', 40001, 5432, TCP_ACK, 60));
    assert.deepEqual(seen, ['40000>3128 60']);
  });

  it('takes nothing up mid-stream while the table is full (what it evicts would come back and evict in turn)', () => {
    const h = harness(2);
    h.feed(t4('10.0.0.5', '203.0.113.10', 40000, 443, TCP_SYN), 1);
    h.feed(t4('10.0.0.5', '203.0.113.11', 40001, 443, TCP_SYN), 2);
    h.feed(t4('10.0.0.5', '203.0.113.12', 40002, 443, TCP_ACK, 100), 3);
    assert.deepEqual([h.started.length, h.table.stats.tcpMidstream, h.table.stats.evictions], [2, 0, 0]);
    h.feed(t4('10.0.0.5', '203.0.113.13', 40003, 443, TCP_SYN), 4);
    assert.deepEqual([h.started.length, h.table.stats.evictions], [3, 1], 'a SYN still evicts the oldest');
  });

  it('counts a packet captured again on another interface (a bridge and its port) once; a later retransmission and the next ACK count', () => {
    const h = harness();
    // Linux cooked capture (what `any` delivers), as the copies come.
    const cooked = (ip: Buffer): Buffer => sll({ protocol: ETHERTYPE_IPV4 }, ip);
    const ack = (ackNo: number, id: number): Buffer => cooked(ipv4({ src: '10.0.0.5', dst: '203.0.113.10', protocol: 6, id },
      tcp({ srcPort: 40003, dstPort: 443, flags: TCP_ACK, seq: 2001, ack: ackNo })));
    const data = (id: number): Buffer => cooked(ipv4({ src: '203.0.113.10', dst: '10.0.0.5', protocol: 6, id },
      tcp({ srcPort: 443, dstPort: 40003, flags: TCP_ACK, seq: 7001, ack: 2001 }, Buffer.alloc(1000))));
    const syn = cooked(ipv4({ src: '10.0.0.5', dst: '203.0.113.10', protocol: 6 }, tcp({ srcPort: 40003, dstPort: 443, flags: TCP_SYN, seq: 2000 })));
    // Every packet three times within microseconds: the uplink, the bridge, the veth port.
    for (const t of [10, 10.005, 10.011]) h.feed(syn, t, LinkType.LINUX_SLL);
    for (const t of [10.5, 10.503, 10.507]) h.feed(data(1), t, LinkType.LINUX_SLL);
    for (const t of [10.6, 10.599, 10.602]) h.feed(ack(8001, 7), t, LinkType.LINUX_SLL); // a copy may be stamped a little earlier
    const f = h.started[0];
    assert.deepEqual([f.clientPackets, f.serverPackets, f.serverBytes], [2, 1, 1040]);
    assert.equal(h.table.stats.copies, 6);
    // The same segment again 300 ms later (a retransmission, another IP ID) counts; so does the
    // next ACK (another ack number), even at once, and even with the same IP ID as before.
    h.feed(data(2), 310.5, LinkType.LINUX_SLL);
    h.feed(ack(9001, 7), 310.6, LinkType.LINUX_SLL);
    assert.deepEqual([f.clientPackets, f.serverPackets, f.serverBytes], [3, 2, 2080]);
    // A UDP datagram captured twice counts once; the next one, whose last bytes differ, counts.
    const dgram = (tail: number): Buffer => cooked(ipv4({ src: '10.0.0.5', dst: '203.0.113.11', protocol: 17 },
      udp({ srcPort: 5000, dstPort: 443 }, Buffer.concat([Buffer.alloc(96), Buffer.from([0, 0, 0, tail])]))));
    h.feed(dgram(1), 20, LinkType.LINUX_SLL);
    h.feed(dgram(1), 20.01, LinkType.LINUX_SLL);
    h.feed(dgram(2), 20.02, LinkType.LINUX_SLL);
    assert.equal(h.started[1].clientPackets, 2);
    assert.equal(h.table.stats.copies, 7);
  });

  it('counts once the copies of a batch the kernel taps before forwarding any of it (uplink P1..Pn, then bridge and port copies)', () => {
    const h = harness();
    const cooked = (packetType: number, ip: Buffer): Buffer => sll({ packetType, protocol: ETHERTYPE_IPV6 }, ip);
    // IPv6: no IP ID, so only the TCP header tells two segments apart.
    const segment = (seq: number, len: number): Buffer => ipv6({ src: '2001:db8:1::50', dst: 'fd99::2', nextHeader: 6 },
      tcp({ srcPort: 8000, dstPort: 41000, flags: TCP_ACK, seq, ack: 5001 }, Buffer.alloc(len)));
    h.feed(cooked(0, ipv6({ src: 'fd99::2', dst: '2001:db8:1::50', nextHeader: 6 }, tcp({ srcPort: 41000, dstPort: 8000, flags: TCP_SYN, seq: 5000 }))), 1, LinkType.LINUX_SLL);
    const batch = [segment(9001, 1400), segment(10401, 7000), segment(17401, 30000), segment(47401, 0)];
    let t = 2;
    // As a GRO list receive delivers them: every packet of the batch arriving on the uplink (type
    // 0), then each forwarded out of the bridge and its port (type 4, outgoing).
    for (const p of batch) h.feed(cooked(0, p), (t += 0.001), LinkType.LINUX_SLL);
    for (const p of batch) for (let copy = 0; copy < 2; copy++) h.feed(cooked(4, p), (t += 0.001), LinkType.LINUX_SLL);
    const f = h.started[0];
    assert.equal(f.serverPackets, batch.length, 'each segment once');
    assert.equal(f.serverBytes, batch.reduce((a, p) => a + p.length, 0));
    assert.equal(h.table.stats.copies, 2 * batch.length);
    // The same batch again past the copy window: retransmissions, counted.
    for (const p of batch) h.feed(cooked(0, p), (t += 5), LinkType.LINUX_SLL);
    assert.equal(f.serverPackets, 2 * batch.length);
  });

  it('keeps every packet of a one-interface capture, identical ones too; with cooked capture v2 only another interface has copies', () => {
    const h = harness();
    const same = ipv4({ src: '10.0.0.5', dst: '203.0.113.12', protocol: 17 }, udp({ srcPort: 5001, dstPort: 443 }, Buffer.alloc(100)));
    // A test generator's capture: the same datagram three times, microseconds apart, on Ethernet.
    for (const t of [30, 30.001, 30.002]) h.feed(ethernet({ type: ETHERTYPE_IPV4 }, same), t);
    assert.equal(h.started[0].clientPackets, 3);
    // SLL2: the same interface twice is two packets; another interface's is a copy.
    const on = (ifindex: number): Buffer => sll2({ protocol: ETHERTYPE_IPV4, ifindex }, ipv4({ src: '10.0.0.5', dst: '203.0.113.13', protocol: 17 }, udp({ srcPort: 5002, dstPort: 443 }, Buffer.alloc(100))));
    h.feed(on(2), 40, LinkType.LINUX_SLL2);
    h.feed(on(2), 40.001, LinkType.LINUX_SLL2);
    h.feed(on(5), 40.002, LinkType.LINUX_SLL2);
    assert.equal(h.started[1].clientPackets, 2);
    assert.equal(h.table.stats.copies, 1);
  });

  it('drops an ignored TCP connection from the table at its first FIN or RST; its last packets start nothing', () => {
    const h = harness();
    h.feed(t4('10.0.0.5', '10.9.9.9', 40001, 443, TCP_SYN), 1);
    h.feed(t4('10.0.0.5', '10.9.9.10', 40002, 443, TCP_SYN), 1);
    assert.equal(h.table.size, 2);
    h.feed(t4('10.9.9.9', '10.0.0.5', 443, 40001, TCP_FIN | TCP_ACK), 2);
    h.feed(t4('10.9.9.10', '10.0.0.5', 443, 40002, TCP_RST), 2);
    assert.equal(h.table.size, 0);
    h.feed(t4('10.0.0.5', '10.9.9.9', 40001, 443, TCP_FIN | TCP_ACK), 3);
    h.feed(t4('10.9.9.9', '10.0.0.5', 443, 40001, TCP_ACK), 4);
    assert.equal(h.table.size, 0);
    assert.equal(h.table.stats.tcpStarts, 2);
    assert.equal(h.started.length, 0);
  });

  it('starts UDP at the first packet, expires it when idle', () => {
    const h = harness();
    h.feed(u4('10.0.0.5', '203.0.113.10', 50000, 5000, 20), 1_000);
    h.feed(u4('203.0.113.10', '10.0.0.5', 5000, 50000, 30), 1_010);
    assert.equal(h.started.length, 1);
    assert.equal(h.started[0].transport, 'udp');
    assert.equal(h.started[0].serverBytes, 58);
    h.table.expire(30_000);
    assert.equal(h.ended.length, 0);
    h.table.expire(61_011);
    assert.deepEqual(h.ended.map(([, r]) => r), ['idle']);
    assert.equal(h.table.stats.expired, 1);
    assert.equal(h.table.size, 0);
  });

  it('expires exactly the idle entries while its walk stops at the young ones, and a clock step back does not stop it', () => {
    const h = harness(1000);
    // Over 10 minutes: TCP and UDP flows, tracked and not, some kept busy.
    const busy: [Buffer, Buffer][] = [];
    for (let i = 0; i < 200; i++) {
      const at = i * 3_000;
      const dst = i % 5 === 0 ? '10.9.0.1' : '203.0.113.10';
      if (i % 2 === 0) h.feed(u4('10.0.0.5', dst, 20000 + i, 5000, 20), at);
      else h.feed(t4('10.0.0.5', dst, 20000 + i, 443, TCP_SYN), at);
      if (i % 7 === 0) busy.push([i % 2 === 0 ? u4('10.0.0.5', dst, 20000 + i, 5000, 20) : t4('10.0.0.5', dst, 20000 + i, 443, TCP_ACK, 10), Buffer.alloc(0)]);
    }
    for (const [frame] of busy) h.feed(frame, 599_000);
    const idle = (now: number) => [...h.table['entries'].values()]
      .filter((e) => e.lastTime < now - (e.transport === 'tcp' ? 300_000 : 60_000)).length;
    for (const now of [600_000, 650_000, 700_000, 900_000, 2_000_000]) {
      const before = h.table.size;
      const due = idle(now);
      h.table.expire(now);
      assert.equal(h.table.size, before - due, `at ${now}`);
      assert.equal(idle(now), 0, `nothing idle left at ${now}`);
    }
    assert.equal(h.table.size, 0);
    // A clock stepped back: entries dated after "now" are walked over, not stopped at.
    h.feed(u4('10.0.0.5', '203.0.113.10', 30000, 5000, 20), 5_000_000);
    h.feed(u4('10.0.0.5', '203.0.113.10', 30001, 5000, 20), 1_000);
    h.table.expire(70_000);
    assert.equal(h.table.size, 1, 'the flow idle since 1 s expired; the one dated ahead stays');
  });

  it('tracks IPv6 both ways under one key', () => {
    const h = harness();
    const f6 = (src: string, dst: string, sp: number, dp: number, flags: number) =>
      ethernet({ type: ETHERTYPE_IPV6 }, ipv6({ src, dst, nextHeader: 6 }, tcp({ srcPort: sp, dstPort: dp, flags })));
    h.feed(f6('2001:db8:5::5', '2001:db8:1::10', 40000, 80, TCP_SYN), 1);
    h.feed(f6('2001:db8:1::10', '2001:db8:5::5', 80, 40000, TCP_SYN | TCP_ACK), 2);
    assert.equal(h.started.length, 1);
    assert.equal(h.started[0].family, 6);
    assert.equal(h.started[0].serverIp, '2001:db8:1::10');
    assert.equal(h.started[0].serverPackets, 1);
  });

  it('is bounded: the oldest flow is evicted and counted', () => {
    const h = harness(3);
    for (let i = 0; i < 5; i++) h.feed(t4('10.0.0.5', '203.0.113.10', 40000 + i, 443, TCP_SYN, 0, 1000 + i), i);
    assert.equal(h.table.size, 3);
    assert.equal(h.table.stats.evictions, 2);
    assert.deepEqual(h.ended.map(([f, r]) => [f.clientPort, r]), [[40000, 'evicted'], [40001, 'evicted']]);
    h.table.endAll();
    assert.equal(h.ended.length, 5);
    assert.equal(h.table.size, 0);
  });

  it('tracks a pod connection once when its SNAT copy shows up on the uplink', () => {
    const h = harness();
    // Pod side (host-side veth), then the same SYN after SNAT: new source, same ISN and responder.
    h.feed(t4('10.244.1.2', '203.0.113.10', 40000, 443, TCP_SYN, 0, 777), 1_000);
    h.feed(t4('192.0.2.5', '203.0.113.10', 61000, 443, TCP_SYN, 0, 777), 1_001);
    h.feed(t4('203.0.113.10', '192.0.2.5', 443, 61000, TCP_SYN | TCP_ACK, 0, 5), 1_002);
    h.feed(t4('203.0.113.10', '10.244.1.2', 443, 40000, TCP_SYN | TCP_ACK, 0, 5), 1_003);
    assert.equal(h.started.length, 1);
    assert.equal(h.started[0].clientIp, '10.244.1.2');
    assert.equal(h.started[0].serverPackets, 1, 'the NATed copy does not count twice');
    assert.equal(h.table.stats.natDuplicates, 1);
    // Another connection to the same responder with another ISN is its own connection.
    h.feed(t4('192.0.2.5', '203.0.113.10', 61001, 443, TCP_SYN, 0, 778), 1_004);
    assert.equal(h.started.length, 2);
    // Two sockets of one address with the same start are two connections, not a NAT copy.
    h.feed(t4('10.244.1.2', '203.0.113.10', 40099, 443, TCP_SYN, 0, 777), 1_005);
    assert.equal(h.started.length, 3);
    // The same ISN long after the window is not a copy either.
    h.feed(t4('192.0.2.6', '203.0.113.10', 61002, 443, TCP_SYN, 0, 777), 9_000);
    assert.equal(h.started.length, 4);
    // The same ISN and port to another responder is another connection.
    h.feed(t4('10.244.1.3', '203.0.113.11', 40100, 443, TCP_SYN, 0, 4242), 9_001);
    h.feed(t4('192.0.2.7', '203.0.113.12', 61003, 443, TCP_SYN, 0, 4242), 9_002);
    assert.equal(h.started.length, 6);
    // The same ISN to the same responder on another port is another connection.
    h.feed(t4('10.244.1.4', '203.0.113.13', 40101, 443, TCP_SYN, 0, 0xfffffff0), 9_003);
    h.feed(t4('192.0.2.8', '203.0.113.13', 61004, 8443, TCP_SYN, 0, 0xfffffff0), 9_004);
    assert.equal(h.started.length, 8);
    // A NAT copy of a start whose ISN is above 2^31 is still found.
    h.feed(t4('192.0.2.9', '203.0.113.13', 61005, 443, TCP_SYN, 0, 0xfffffff0), 9_005);
    assert.equal(h.started.length, 8);
    assert.equal(h.table.stats.natDuplicates, 2);
  });

  it('matches a UDP NAT copy by its first payload', () => {
    const h = harness();
    const u = (src: string, sp: number, fill: number) =>
      ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src, dst: '203.0.113.10', protocol: 17 }, udp({ srcPort: sp, dstPort: 443 }, Buffer.alloc(60, fill))));
    h.feed(u('10.244.1.2', 50000, 7), 1_000);
    h.feed(u('192.0.2.5', 62000, 7), 1_001);
    h.feed(u('192.0.2.5', 62001, 8), 1_002);
    assert.equal(h.started.length, 2);
    assert.equal(h.table.stats.natDuplicates, 1);
  });
});
