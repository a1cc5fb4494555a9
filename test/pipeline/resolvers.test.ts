// Which process resolved which name: the per-process answers a connection is named from when
// one IP carries several names.
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import winston from 'winston';
import { ResolverOwners } from '../../lib/pipeline/resolvers.js';
import { textNameHash } from '../../lib/dns/index.js';
import { Pipeline, DEFAULT_NAME_ORDER, type Attributor, type Attribution } from '../../lib/pipeline/index.js';
import type { Baseline } from '../../lib/baseline/index.js';
import { ethernet, ipv4, tcp, udp, ETHERTYPE_IPV4, TCP_SYN } from '../helpers/packets.js';

const answer = (name: string, ip: string) => ({ id: 1, queryName: name, queryType: 1, queryHash: textNameHash(name), rcode: 0, cnames: 0, answers: [{ ip, ttl: 60, chain: [name] }] });
const query = (name: string) => dnsPacket.encode({ type: 'query', id: 7, questions: [{ type: 'A', name }] });
const response = (name: string, ip: string) => dnsPacket.encode({ type: 'response', id: 7, questions: [{ type: 'A', name }], answers: [{ type: 'A', name, ttl: 60, data: ip }] });

/** A pipeline over a fake attributor and baseline: its alerts, its clock, and a feeder of IPv4 packets. */
function harness(attributor: Attributor, baseline: Baseline) {
  const alerts: any[] = [];
  const clock = { now: 1_000_000 };
  const p = new Pipeline({
    hostName: 'h', hostId: 'h', dnsPorts: [53], alertDelayMs: 0, baselineWindowMs: 86_400_000, dnsCacheSize: 1000,
    dnsRetentionMs: 60_000, flowTableSize: 1000, tcpIdleMs: 60_000, udpIdleMs: 60_000, internalCidrs: [],
    externalCidrs: ['203.0.113.0/24'], normalizeVersions: true, nameOrder: DEFAULT_NAME_ORDER, dnsQueryWindowMs: 5000, acceptUnmatchedDns: false, groupingRules: [], suppressions: [],
  }, { baseline: async () => baseline, attributor, emit: (a) => alerts.push(a), logger: winston.createLogger({ silent: true }), now: () => clock.now });
  const feed = (src: string, dst: string, l4: Buffer, proto: number): void => {
    const frame = ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src, dst, protocol: proto }, l4));
    p.onPacket(frame, frame.length, frame.length, clock.now++, 1);
  };
  return { p, alerts, clock, feed };
}

describe('pipeline/resolvers', () => {
  it('keeps answers per process, including those that arrived before the owner was known', () => {
    const r = new ResolverOwners({ ttlMs: 1000 });
    assert.ok(r.query('10.0.0.5|40000', 0));
    assert.equal(r.query('10.0.0.5|40000', 1), undefined, 'one attribution per socket');
    r.answer('10.0.0.5|40000', answer('a.cdn-one.example', '203.0.113.30'), 100);
    r.owner('10.0.0.5|40000', 4242);
    assert.equal(r.nameFor(4242, '203.0.113.30', 200)?.name, 'a.cdn-one.example');
    assert.equal(r.nameFor(4243, '203.0.113.30', 200), undefined);
    assert.equal(r.nameFor(4242, '203.0.113.30', 1200), undefined, 'expires after ttl');
    r.query('10.0.0.5|40001', 0);
    r.owner('10.0.0.5|40001', undefined);
    r.answer('10.0.0.5|40001', answer('x.example', '203.0.113.31'), 300);
    assert.equal(r.stats.answersKept, 1);
  });

  it('a port taken again within the second, its owner gone, is another socket: looked up again, its answers not the gone one\'s', () => {
    const r = new ResolverOwners({ ttlMs: 10_000 });
    const alive = new Set([4242]);
    const isAlive = (pid: number): boolean => alive.has(pid);
    const first = r.query('10.0.0.5|40000', 0, isAlive);
    assert.ok(first);
    r.owner('10.0.0.5|40000', 4242, first);
    assert.equal(r.query('10.0.0.5|40000', 300, isAlive), undefined, 'its owner lives: the same socket');
    alive.delete(4242);
    const second = r.query('10.0.0.5|40000', 600, isAlive);
    assert.ok(second, 'its owner is gone: a new socket, looked up');
    r.owner('10.0.0.5|40000', 4343, second);
    r.answer('10.0.0.5|40000', answer('b.example', '203.0.113.40'), 700);
    assert.equal(r.nameFor(4343, '203.0.113.40', 800)?.name, 'b.example');
    assert.equal(r.nameFor(4242, '203.0.113.40', 800), undefined, 'not given to the gone process');
    assert.equal(r.soleResolver('203.0.113.40', 0, 800), 4343);
  });

  it('names a connection by what its own process resolved when the IP has several names', async () => {
    const owners: Record<number, number> = { 40000: 111, 40001: 222 };
    const byClientPort: Record<number, number> = { 50000: 111, 50001: 222 };
    const fake = {
      socketOwner: async (ends: { clientPort: number }) => owners[ends.clientPort],
      processAlive: () => true,
      attribute: async (flow: { clientPort: number }): Promise<Attribution> => {
        const pid = byClientPort[flow.clientPort];
        return { method: 'procfs-socket', confidence: 'high', described: {
          process: { pid, ppid: 1, name: 'app', argv: ['app'], commandLine: 'app', uid: 0 },
          software: { id: `/opt/app${pid}`, kind: 'executable' }, softwareKey: `/opt/app${pid}`,
        } };
      },
    } as unknown as Attributor;
    const seen = new Set<string>();
    const baseline = { observeSync: () => undefined, observe: async (o: { software?: string; group: string }) => {
      const k = `${o.software}|${o.group}`;
      const novel = !seen.has(k);
      seen.add(k);
      return { novelFor: novel ? ['software'] : [], learning: false };
    } } as unknown as Baseline;
    const { p, alerts, feed } = harness(fake, baseline);
    feed('10.0.0.5', '10.0.0.53', udp({ srcPort: 40000, dstPort: 53 }, query('a.cdn-one.example')), 17);
    feed('10.0.0.5', '10.0.0.53', udp({ srcPort: 40001, dstPort: 53 }, query('b.cdn-two.example')), 17);
    await new Promise((res) => setTimeout(res, 10));
    feed('10.0.0.53', '10.0.0.5', udp({ srcPort: 53, dstPort: 40000 }, response('a.cdn-one.example', '203.0.113.30')), 17);
    feed('10.0.0.53', '10.0.0.5', udp({ srcPort: 53, dstPort: 40001 }, response('b.cdn-two.example', '203.0.113.30')), 17);
    // The host's last answer for 203.0.113.30 is b.cdn-two.example; process 111 asked for a.cdn-one.example.
    feed('10.0.0.5', '203.0.113.30', tcp({ srcPort: 50000, dstPort: 443, flags: TCP_SYN, seq: 1 }), 6);
    feed('10.0.0.5', '203.0.113.30', tcp({ srcPort: 50001, dstPort: 443, flags: TCP_SYN, seq: 2 }), 6);
    await p.finish();
    const byPid = new Map(alerts.map((a) => [a.process.pid, a]));
    assert.equal(byPid.get(111)?.destination.domain, 'a.cdn-one.example');
    assert.equal(byPid.get(111)?.egresswatch.dns.resolved_by_process, true);
    assert.deepEqual(byPid.get(111)?.egresswatch.dns.alternatives, ['b.cdn-two.example']);
    assert.equal(byPid.get(111)?.egresswatch.domain_group, 'cdn-one.example');
    assert.equal(byPid.get(222)?.destination.domain, 'b.cdn-two.example');
    assert.equal(byPid.get(222)?.egresswatch.dns.resolved_by_process, true);
  });

  it('reads the record the other way: the one process every recent answer for an address went to', () => {
    const r = new ResolverOwners();
    for (const [sock, pid] of [['10.0.0.5|40000', 111], ['10.0.0.5|40001', 222], ['10.0.0.5|40002', 111]] as const) {
      r.query(sock, 0);
      r.owner(sock, pid);
    }
    r.answer('10.0.0.5|40000', answer('a.example', '203.0.113.30'), 100);
    r.answer('10.0.0.5|40002', answer('a.example', '203.0.113.30'), 150);
    r.answer('10.0.0.5|40001', answer('b.example', '203.0.113.30'), 200);
    assert.equal(r.soleResolver('203.0.113.30', 0, 160), 111, 'two sockets of one process');
    assert.equal(r.soleResolver('203.0.113.30', 0, 1000), undefined, 'two processes were given it');
    assert.equal(r.soleResolver('203.0.113.30', 180, 1000), 222, 'answers before the window do not count');
    assert.equal(r.soleResolver('203.0.113.30', 0, 50), undefined, 'nor answers after it');
    assert.equal(r.soleResolver('203.0.113.99', 0, 1000), undefined);
  });

  it('an answer to a socket whose owner was not found (or never looked up) makes the address ambiguous', () => {
    const r = new ResolverOwners();
    r.query('10.0.0.5|40000', 0);
    r.owner('10.0.0.5|40000', 111);
    r.query('10.0.0.5|40001', 0);
    r.owner('10.0.0.5|40001', undefined);
    r.answer('10.0.0.5|40000', answer('a.example', '203.0.113.30'), 100);
    assert.equal(r.soleResolver('203.0.113.30', 0, 1000), 111);
    // The process whose DNS socket was not found connects next: it must not be named 111.
    r.answer('10.0.0.5|40001', answer('a.example', '203.0.113.30'), 200);
    assert.equal(r.soleResolver('203.0.113.30', 0, 1000), undefined);
    r.answer('10.0.0.6|41000', answer('a.example', '203.0.113.31'), 200);
    assert.equal(r.soleResolver('203.0.113.31', 0, 1000), undefined, 'a socket never asked about');
    r.query('10.0.0.5|40003', 0);
    r.answer('10.0.0.5|40003', answer('a.example', '203.0.113.32'), 200);
    assert.equal(r.soleResolver('203.0.113.32', 0, 1000), undefined, 'owner still being looked up');
    r.owner('10.0.0.5|40003', 333);
    assert.equal(r.soleResolver('203.0.113.32', 0, 1000), 333, 'found since');
  });

  it('more recent answers than are kept for an address: ambiguous', () => {
    const r = new ResolverOwners();
    for (let i = 0; i < 9; i++) {
      const sock = `10.0.0.5|${40000 + i}`;
      r.query(sock, 0);
      r.owner(sock, 111);
      r.answer(sock, answer('a.example', '203.0.113.30'), 100 + i);
    }
    assert.equal(r.soleResolver('203.0.113.30', 100, 1000), undefined, 'the oldest answers in the window were dropped');
    assert.equal(r.soleResolver('203.0.113.30', 104, 1000), 111);
  });

  it('an address dropped by the bound makes every window reaching back to its answers ambiguous', () => {
    const r = new ResolverOwners({ maxAddresses: 2 });
    for (const [sock, pid] of [['10.0.0.5|40000', 111], ['10.0.0.5|40001', 222]] as const) {
      r.query(sock, 0);
      r.owner(sock, pid);
    }
    r.answer('10.0.0.5|40000', answer('a.example', '203.0.113.30'), 100);
    r.answer('10.0.0.5|40000', answer('b.example', '203.0.113.31'), 110);
    // .32 pushes out .30, whose answer went to 111; 222 is then given .30 again.
    r.answer('10.0.0.5|40000', answer('c.example', '203.0.113.32'), 120);
    r.answer('10.0.0.5|40001', answer('a.example', '203.0.113.30'), 130);
    assert.equal(r.soleResolver('203.0.113.30', 0, 1000), undefined, 'the answer to 111 may be in the window');
    assert.equal(r.soleResolver('203.0.113.30', 115, 1000), 222, 'a window after every forgotten answer');
    assert.equal(r.stats.evictions, 2);
  });

  it('where a local stub resolver forwards, only the answers over loopback count', () => {
    const r = new ResolverOwners();
    r.query('127.0.0.1|40000', 0);
    r.owner('127.0.0.1|40000', 111);
    r.query('10.0.0.5|50000', 0);
    r.owner('10.0.0.5|50000', 53);
    r.answer('10.0.0.5|50000', answer('a.example', '203.0.113.30'), 100);
    r.answer('127.0.0.1|40000', answer('a.example', '203.0.113.30'), 101);
    assert.equal(r.soleResolver('203.0.113.30', 0, 1000), 111);
  });

  it('a query socket\'s port taken again by another process is looked up again; earlier answers keep their owner', () => {
    const r = new ResolverOwners();
    const first = r.query('10.0.0.5|40000', 0);
    r.owner('10.0.0.5|40000', 111, first);
    r.answer('10.0.0.5|40000', answer('a.example', '203.0.113.30'), 10);
    assert.equal(r.query('10.0.0.5|40000', 500), undefined, 'the same lookup (A then AAAA, a retry): not looked up again');
    // Ten seconds on, the port is another process's socket.
    const second = r.query('10.0.0.5|40000', 10_000);
    assert.ok(second && second !== first, 'a new socket');
    r.answer('10.0.0.5|40000', answer('b.example', '203.0.113.31'), 10_010);
    assert.equal(r.soleResolver('203.0.113.31', 5_000, 20_000), undefined, 'its owner is not known yet: not 111');
    r.owner('10.0.0.5|40000', 222, second);
    assert.equal(r.soleResolver('203.0.113.31', 5_000, 20_000), 222);
    assert.equal(r.soleResolver('203.0.113.30', 0, 100), 111, 'the first answer still names its own process');
    assert.equal(r.nameFor(222, '203.0.113.31', 10_020)?.name, 'b.example');
    assert.equal(r.nameFor(111, '203.0.113.31', 10_020), undefined);
    // Both sockets were told one address: two processes, ambiguous.
    r.answer('10.0.0.5|40000', answer('a.example', '203.0.113.30'), 10_030);
    assert.equal(r.soleResolver('203.0.113.30', 0, 20_000), undefined);
    assert.equal(r.soleResolver('203.0.113.30', 10_000, 20_000), 222);
    // A lookup of the old socket that ends late does not touch the new one.
    r.owner('10.0.0.5|40000', undefined, first);
    assert.equal(r.soleResolver('203.0.113.31', 5_000, 20_000), 222);
  });

  it('attributes a connection whose socket was gone to the one process told its address (per-process-dns), never when two were', async () => {
    const owners: Record<number, number> = { 40000: 111, 40001: 222, 40002: 333 };
    const asked: (number | undefined)[] = [];
    const fake = {
      socketOwner: async (ends: { clientPort: number }) => owners[ends.clientPort],
      processAlive: () => true,
      // The socket is never found: the attribution is whatever the fallback says.
      attribute: async (_flow: unknown, fallback?: () => { pid: number; method: 'per-process-dns'; confidence: 'medium' } | undefined): Promise<Attribution> => {
        await new Promise((res) => setImmediate(res));
        const f = fallback?.();
        asked.push(f?.pid);
        if (!f) return { method: 'none', confidence: 'low' };
        return { method: f.method, confidence: f.confidence, described: {
          process: { pid: f.pid, ppid: 1, name: 'app', argv: ['app'], commandLine: 'app', uid: 0 },
          software: { id: `/opt/app${f.pid}`, kind: 'executable' }, softwareKey: `/opt/app${f.pid}`,
        } };
      },
    } as unknown as Attributor;
    const baseline = { observeSync: () => undefined, observe: async () => ({ novelFor: ['host'], learning: false }) } as unknown as Baseline;
    const { p, alerts, clock, feed } = harness(fake, baseline);
    const lookup = async (port: number, name: string, ip: string) => {
      feed('10.0.0.5', '10.0.0.53', udp({ srcPort: port, dstPort: 53 }, query(name)), 17);
      await new Promise((res) => setTimeout(res, 10));
      feed('10.0.0.53', '10.0.0.5', udp({ srcPort: 53, dstPort: port }, response(name, ip)), 17);
    };
    // 111 alone is told 203.0.113.30; 222 and 333 are both told 203.0.113.40.
    await lookup(40000, 'one.example', '203.0.113.30');
    await lookup(40001, 'two.example', '203.0.113.40');
    await lookup(40002, 'three.example', '203.0.113.40');
    feed('10.0.0.5', '203.0.113.30', tcp({ srcPort: 50000, dstPort: 443, flags: TCP_SYN, seq: 1 }), 6);
    feed('10.0.0.5', '203.0.113.40', tcp({ srcPort: 50001, dstPort: 443, flags: TCP_SYN, seq: 2 }), 6);
    // Past the window, the lone resolver of .30 no longer names a connection to it.
    clock.now += 10_000;
    feed('10.0.0.5', '203.0.113.30', tcp({ srcPort: 50002, dstPort: 8443, flags: TCP_SYN, seq: 3 }), 6);
    // Process 444 now asks from port 40000, the port 111 asked from: 444 is named, not 111.
    owners[40000] = 444;
    await lookup(40000, 'four.example', '203.0.113.50');
    feed('10.0.0.5', '203.0.113.50', tcp({ srcPort: 50003, dstPort: 443, flags: TCP_SYN, seq: 4 }), 6);
    await p.finish();
    assert.deepEqual(asked, [111, undefined, undefined, 444]);
    const to30 = alerts.find((a) => a.destination.ip === '203.0.113.30' && a.destination.port === 443);
    assert.equal(to30?.process.pid, 111);
    assert.equal(to30?.egresswatch.attribution.method, 'per-process-dns');
    assert.equal(to30?.egresswatch.attribution.confidence, 'medium');
    assert.equal(to30?.egresswatch.dns.resolved_by_process, true);
  });
});
