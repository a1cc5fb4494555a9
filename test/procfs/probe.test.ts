// The resolver's SYN-time path on a fake /proc tree, with a scripted sock_diag (the kernel's
// answers are the tree's sockets, so a socket "closes" when the test says so): probe() sees the
// holder while it exists and resolve() reports it after the process has gone; the pid that last
// talked to a peer is rescanned alone first; no full fd scan for a socket netlink says is
// closed; the probe budget. Plus HotPids and ProbeCache on their own.
import assert from 'node:assert/strict';
import { HotPids, ProcFs, SockDiag, SocketResolver, type FlowEnds, type NetlinkAddon } from '../../lib/procfs/index.js';
import { ProbeCache } from '../../lib/procfs/probes.js';
import { FakeProc } from './faketree.js';

const HOST = '192.0.2.10';
const PEER = '203.0.113.5';
const tcp = (localPort: number, remotePort = 443): FlowEnds => ({ transport: 'tcp', localIp: HOST, localPort, remoteIp: PEER, remotePort });

/** sock_diag over a map "lport|rport" → inode that the test edits; `calls` counts the kernel lookups. */
function scriptedDiag(open: Map<string, number>, calls = { n: 0 }): SockDiag {
  const addon: NetlinkAddon = {
    open: () => 3,
    close: () => 0,
    lookup: (_fd, _family, _proto, _l, lport, _r, rport, out) => {
      calls.n++;
      const inode = open.get(`${lport}|${rport}`);
      if (inode === undefined) return 0;
      out[0] = inode;
      out[1] = 1000;
      out[2] = 1;
      return 1;
    },
  };
  return SockDiag.open({ addon })!;
}

describe('procfs/SocketResolver at SYN time (scripted netlink, fake /proc)', () => {
  let tree: FakeProc;
  let clock: number;
  let open: Map<string, number>;
  let resolver: SocketResolver;
  let calls: { n: number };

  beforeEach(async () => {
    tree = new FakeProc();
    for (const name of ['tcp', 'tcp6', 'udp', 'udp6']) tree.writeNet(name, '  sl  local_address rem_address   st\n');
    tree.addPid(100, { comm: 'svc', ppid: 1, uid: 1000, argv: ['svc'], sockets: [] });
    tree.addPid(200, { comm: 'other', ppid: 1, uid: 1000, argv: ['other'], sockets: [] });
    clock = 10_000;
    open = new Map();
    calls = { n: 0 };
    resolver = new SocketResolver({ proc: new ProcFs(tree.root), now: () => clock, sockDiag: scriptedDiag(open, calls) });
    // Index both pids (the first listing's pids are indexed on the first miss).
    open.set('40000|443', 9000);
    tree.addSocket(100, 5, 9000);
    assert.equal((await resolver.resolve([tcp(40000)]))[0]?.pid, 100);
  });
  afterEach(() => tree.cleanup());

  it('a socket probed while open is attributed after its process has exited (procfs-socket: its fd was seen)', async () => {
    open.set('40001|443', 9001);
    tree.addSocket(100, 6, 9001);
    resolver.probe(tcp(40001));
    open.delete('40001|443');
    tree.removePid(100);
    const [owner] = await resolver.resolve([tcp(40001)]);
    assert.deepEqual([owner?.pid, owner?.inode, owner?.method], [100, 9001, 'procfs-socket']);
    assert.equal(resolver.stats.probeHolders, 1);
    assert.equal(resolver.stats.probesUsed, 1);
    // Without the probe the same sequence finds nothing.
    const [later] = await resolver.resolve([tcp(40001)]);
    assert.equal(later, undefined);
  });

  it('rescans the pid that last talked to the same peer, alone, before the hot pids', async () => {
    open.set('40002|443', 9002);
    tree.addSocket(100, 7, 9002);
    const scanned = resolver.stats.pidsScanned;
    resolver.probe(tcp(40002));
    assert.equal(resolver.stats.pidsScanned - scanned, 1, 'one fd directory read');
    assert.equal(resolver.stats.probeHolders, 1);
    assert.equal((await resolver.resolve([tcp(40002)]))[0]?.pid, 100);
  });

  it('finds the new socket at the lowest free fd of the peer pid without listing its fds; a batch of attributed flows lists no pids', async () => {
    open.set('40004|443', 9004);
    tree.addSocket(100, 2, 9004); // fds 0, 1 and 5 are open: 2 is the lowest free
    const listed = resolver.stats.pidsScanned;
    const listings = resolver.stats.netnsListings;
    resolver.probe(tcp(40004));
    assert.deepEqual([resolver.stats.pidsScanned - listed, resolver.stats.guessHits], [0, 1]);
    clock += 1000;
    assert.equal((await resolver.resolve([tcp(40004)]))[0]?.pid, 100);
    assert.deepEqual([resolver.stats.netnsListings - listings, resolver.stats.prescansSkipped], [0, 1]);
  });

  it('reuses the probe\'s "no such socket": resolve() does not ask netlink again', async () => {
    resolver.probe(tcp(40005));
    assert.equal(resolver.stats.probeNoSocket, 1);
    const asked = calls.n;
    assert.equal((await resolver.resolve([tcp(40005)]))[0], undefined);
    assert.equal(calls.n, asked, 'no lookup in the batch');
    // Once only: a later batch for the same 4-tuple asks again (two lookups: IPv4, then v4-mapped IPv6).
    await resolver.resolve([tcp(40005)]);
    assert.equal(calls.n, asked + 2);
  });

  it('does not run a full fd scan for a socket netlink says has closed', async () => {
    open.set('40003|80', 9003);
    tree.addSocket(200, 9, 9003);
    clock += 1000;
    // Resolved without a probe: the hot pid (100) does not hold it; it closes before the full scan.
    const hot = resolver.stats.youngRescans;
    const r = resolver.resolve([tcp(40003, 80)]);
    open.delete('40003|80');
    const [owner] = await r;
    assert.ok(resolver.stats.youngRescans > hot);
    // hostFirst saw it open; by the full-scan decision it was closed: no scan, counted.
    assert.equal(owner?.pid, undefined);
    assert.deepEqual([resolver.stats.fullScans, resolver.stats.closedBeforeScan], [0, 1]);
  });

  it('spends at most the probe budget per 100 ms; the rest wait for resolve()', () => {
    for (let i = 0; i < 520; i++) resolver.probe(tcp(41000 + i));
    assert.equal(resolver.stats.probes, 500);
    assert.equal(resolver.stats.probesOverBudget, 20);
    clock += 100;
    resolver.probe(tcp(42000));
    assert.equal(resolver.stats.probes, 501);
  });
});

describe('procfs/HotPids and ProbeCache', () => {
  it('HotPids: most recent first, bounded, expiring; peers remembered; max 0 turns it off', () => {
    let now = 0;
    const hot = new HotPids({ max: 2, ttlMs: 100, now: () => now });
    hot.mark(1); hot.mark(2); hot.mark(3);
    assert.deepEqual(hot.list(), [3, 2]);
    assert.equal(hot.stats.evictions, 1);
    now = 50; hot.mark(2);
    now = 120;
    assert.deepEqual(hot.list(), [2], 'pid 3 marked at 0 expired at 100');
    hot.markPeer('203.0.113.5', 443, 7);
    assert.equal(hot.peer('203.0.113.5', 443), 7);
    assert.equal(hot.peer('203.0.113.5', 80), undefined);
    const off = new HotPids({ max: 0, now: () => now });
    off.mark(1); off.markPeer('203.0.113.5', 443, 1);
    assert.deepEqual([off.list(), off.peer('203.0.113.5', 443)], [[], undefined]);
  });

  it('ProbeCache: taken once, expires, bounded with an eviction counter', () => {
    let now = 0;
    const cache = new ProbeCache({ max: 2, ttlMs: 100, now: () => now });
    const owner = { inode: 1, uid: 0, state: 1, hostNetns: true, pid: 5 };
    cache.put('a', owner); cache.put('b', owner); cache.put('c', owner);
    assert.equal(cache.stats.evictions, 1);
    assert.equal(cache.take('a'), undefined);
    assert.deepEqual(cache.take('b'), owner);
    assert.equal(cache.take('b'), undefined, 'only once');
    now = 101;
    assert.equal(cache.take('c'), undefined);
    assert.equal(cache.stats.expired, 1);
  });
});
