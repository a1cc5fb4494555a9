// Namespace-aware resolution on a fake /proc tree: grouping by ns/net link, reading through
// one member, ownership of local addresses, per-batch read counts, the table cache, rate
// limits, dead pids and members, and the exited-holder grace.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { NetnsIndex, ProcFs, SocketResolver, parseFibTrieLocal, parseIfInet6, parseNsLink, type FlowEnds, type SocketResolverOptions } from '../../lib/procfs/index.js';
import { HOST_NS, NetnsProc, fibTrieText, tcpText } from './netns-faketree.js';

const NS_A = 4026532001;
const NS_B = 4026532002;
const NS_C = 4026532003;
const PEER = '203.0.113.5';
const POD_A = '10.244.0.5';
const POD_B = '10.244.1.7';

const tcp = (localIp: string, localPort: number, remoteIp = PEER, remotePort = 443): FlowEnds => ({ transport: 'tcp', localIp, localPort, remoteIp, remotePort });

/** Counts what the resolver reads, by path relative to the root. */
class CountingProcFs extends ProcFs {
  readonly reads = new Map<string, number>();
  override resolve(rel: string): string {
    if (/net\/(tcp|udp)6?$/.test(rel)) this.reads.set(rel, (this.reads.get(rel) ?? 0) + 1);
    return super.resolve(rel);
  }
  count(rel: string): number {
    return this.reads.get(rel) ?? 0;
  }
}

describe('procfs/SocketResolver across network namespaces (fake /proc)', () => {
  let tree: NetnsProc;
  let proc: CountingProcFs;
  let clock: number;
  const make = (opts: Partial<SocketResolverOptions> = {}): SocketResolver => new SocketResolver({ proc, now: () => clock, ...opts });

  beforeEach(() => {
    tree = new NetnsProc();
    clock = 50_000;
    tree.writeNet('tcp', tcpText([
      { localIp: '192.0.2.10', localPort: 40000, remoteIp: PEER, remotePort: 443, inode: 1001 },
      { localIp: '127.0.0.1', localPort: 5000, remoteIp: '127.0.0.1', remotePort: 6000, inode: 1002 },
    ]));
    tree.addNsPid(100, HOST_NS, { sockets: [1001, 1002] });
    // Pod A: 300 is the pause process (lowest pid, the member), 301 the application.
    tree.addNsPid(300, NS_A);
    tree.addNsPid(301, NS_A, { sockets: [3001, 3002, 3003] });
    tree.writePidNet(300, 'tcp', tcpText([
      { localIp: POD_A, localPort: 41000, remoteIp: PEER, remotePort: 443, inode: 3001 },
      // The same loopback 4-tuple as the host's: the host must win.
      { localIp: '127.0.0.1', localPort: 5000, remoteIp: '127.0.0.1', remotePort: 6000, inode: 3002 },
      { localIp: '127.0.0.1', localPort: 7000, remoteIp: '127.0.0.1', remotePort: 8000, inode: 3003 },
    ]));
    tree.writePidNet(300, 'fib_trie', fibTrieText(['127.0.0.1', POD_A]));
    // 301's own view is left empty: finding A's sockets proves they were read through 300.
    tree.addNsPid(400, NS_B, { sockets: [4001, 4002] });
    tree.writePidNet(400, 'tcp', tcpText([
      { localIp: POD_B, localPort: 42000, remoteIp: PEER, remotePort: 443, inode: 4001 },
      { localIp: '127.0.0.1', localPort: 7100, remoteIp: '127.0.0.1', remotePort: 8100, inode: 4002 },
    ]));
    tree.writePidNet(400, 'fib_trie', fibTrieText(['127.0.0.1', POD_B]));
    proc = new CountingProcFs(tree.root);
  });
  afterEach(() => tree.cleanup());

  it('finds a pod socket through the namespace member, searching only that namespace and its pids', async () => {
    const resolver = make();
    const [owner] = await resolver.resolve([tcp(POD_A, 41000)]);
    assert.deepEqual(owner, { inode: 3001, uid: 0, state: 1, pid: 301, netns: NS_A, hostNetns: false, method: 'procfs-socket' });
    assert.equal(proc.count('300/net/tcp'), 1);
    assert.equal(proc.count('301/net/tcp'), 0, 'one member per namespace');
    assert.equal(proc.count('400/net/tcp'), 0, 'B does not own 10.244.0.5');
    assert.equal(resolver.stats.pidsScanned, 2, 'only the fds of pids 300 and 301 were scanned');
    clock += 1000;
    assert.equal((await resolver.resolve([tcp(POD_B, 42000)]))[0]?.pid, 400);
    assert.deepEqual([proc.count('300/net/tcp'), proc.count('400/net/tcp')], [1, 1], 'A does not own 10.244.1.7');
    // A closed socket on a host address: no pod table can hold it.
    tree.writeNet('fib_trie', fibTrieText(['127.0.0.1', '192.0.2.10']));
    clock += 10_000;
    assert.equal((await make().resolve([tcp('192.0.2.10', 40999)]))[0], undefined);
    assert.deepEqual([proc.count('300/net/tcp'), proc.count('400/net/tcp')], [1, 1]);
  });

  it('prefers the host namespace for a 4-tuple both list, and finds a loopback socket only a pod has', async () => {
    const resolver = make();
    const [host, pod] = await resolver.resolve([tcp('127.0.0.1', 5000, '127.0.0.1', 6000), tcp('127.0.0.1', 7000, '127.0.0.1', 8000)]);
    assert.deepEqual(host, { inode: 1002, uid: 0, state: 1, pid: 100, netns: HOST_NS, hostNetns: true, method: 'procfs-socket' });
    assert.equal(pod?.pid, 301);
    assert.equal(pod?.hostNetns, false);
    assert.equal(pod?.netns, NS_A);
  });

  it('reads each namespace file at most once per batch, reuses a table for 100 ms, and re-reads a cached table that misses', async () => {
    const resolver = make();
    await resolver.resolve([
      tcp(POD_A, 41000), tcp(POD_B, 42000), tcp('127.0.0.1', 7000, '127.0.0.1', 8000), tcp('127.0.0.1', 7100, '127.0.0.1', 8100),
      tcp('192.0.2.10', 40000), tcp('127.0.0.1', 1, '127.0.0.1', 2), tcp(POD_A, 1), tcp('198.51.100.9', 1),
    ]);
    for (const [rel, n] of proc.reads) assert.ok(n <= 1, `${rel} read ${n} times in one batch`);
    assert.deepEqual(['net/tcp', '300/net/tcp', '400/net/tcp'].map((r) => proc.count(r)), [1, 1, 1]);
    clock += 50;
    assert.equal((await resolver.resolve([tcp(POD_A, 41000)]))[0]?.pid, 301);
    assert.equal(proc.count('300/net/tcp'), 1, 'cached table found it');
    // A connection that started after the table was read: one re-read finds it.
    tree.writePidNet(300, 'tcp', tcpText([{ localIp: POD_A, localPort: 41001, remoteIp: PEER, remotePort: 443, inode: 3004 }]));
    tree.addSocket(301, 20, 3004);
    clock += 10;
    assert.equal((await resolver.resolve([tcp(POD_A, 41001)]))[0]?.pid, 301);
    assert.equal(proc.count('300/net/tcp'), 2);
    assert.equal(resolver.stats.rereads >= 1, true);
    clock += 150;
    await resolver.resolve([tcp(POD_A, 41001)]);
    assert.equal(proc.count('300/net/tcp'), 3, 'expired after 100 ms');
  });

  it('sweeps every namespace for an unclaimed local address at most once per broadSweepIntervalMs', async () => {
    const resolver = make();
    assert.equal((await resolver.resolve([tcp('127.0.0.1', 7100, '127.0.0.1', 8100)]))[0]?.pid, 400);
    const reads = (): number => proc.count('300/net/tcp') + proc.count('400/net/tcp');
    const before = reads();
    tree.writePidNet(400, 'tcp', tcpText([{ localIp: '127.0.0.1', localPort: 7200, remoteIp: '127.0.0.1', remotePort: 8200, inode: 4003 }]));
    tree.addSocket(400, 30, 4003);
    clock += 500;
    assert.equal((await resolver.resolve([tcp('127.0.0.1', 7200, '127.0.0.1', 8200)]))[0], undefined, 'between sweeps: cached tables only');
    assert.equal(reads(), before);
    clock += 500;
    assert.equal((await resolver.resolve([tcp('127.0.0.1', 7200, '127.0.0.1', 8200)]))[0]?.pid, 400);
    assert.equal(resolver.stats.broadSweeps, 2);
  });

  it('bounds the namespaces read per batch and counts the skipped ones', async () => {
    const resolver = make({ maxNamespacesPerBatch: 1 });
    const owners = await resolver.resolve([tcp('127.0.0.1', 7000, '127.0.0.1', 8000), tcp('127.0.0.1', 7100, '127.0.0.1', 8100)]);
    assert.equal(owners.filter((o) => o?.pid !== undefined).length, 1);
    assert.equal(resolver.stats.netnsSkipped, 1);
    assert.equal(proc.count('300/net/tcp') + proc.count('400/net/tcp'), 1);
  });

  it('drops dead pids and namespaces; replaces a member that died', async () => {
    const resolver = make({ netnsRefreshMs: 1000 });
    assert.equal((await resolver.resolve([tcp(POD_B, 42000)]))[0]?.pid, 400);
    assert.equal(resolver.stats.namespaces, 3);
    // The member dies between two listings: the read through it fails and 301 takes over.
    tree.removePid(300);
    tree.writePidNet(301, 'tcp', tcpText([{ localIp: POD_A, localPort: 41000, remoteIp: PEER, remotePort: 443, inode: 3001 }]));
    clock += 200;
    assert.equal((await resolver.resolve([tcp(POD_A, 41000)]))[0]?.pid, 301);
    assert.equal(resolver.stats.memberFailures, 1);
    tree.removePid(400);
    clock += 2000;
    const [gone] = await resolver.resolve([tcp(POD_B, 42000)]);
    assert.equal(gone, undefined, 'namespace B has no process left to read it through');
    assert.equal(resolver.stats.namespaces, 2);
  });

  it('finds a new namespace only at the next listing allowed by the rate limit', async () => {
    const resolver = make({ netnsRefreshMs: 50 });
    await resolver.resolve([tcp(POD_A, 41000)]);
    tree.addNsPid(500, NS_C, { sockets: [5001] });
    tree.writePidNet(500, 'tcp', tcpText([{ localIp: '10.244.2.9', localPort: 43000, remoteIp: PEER, remotePort: 443, inode: 5001 }]));
    clock += 10;
    assert.equal((await resolver.resolve([tcp('10.244.2.9', 43000)]))[0], undefined);
    const listings = resolver.stats.netnsListings;
    clock += 50;
    assert.deepEqual((await resolver.resolve([tcp('10.244.2.9', 43000)]))[0], { inode: 5001, uid: 0, state: 1, pid: 500, netns: NS_C, hostNetns: false, method: 'procfs-socket' });
    assert.equal(resolver.stats.netnsListings, listings + 1);
  });

  it('reports the holder that exited within exitedGraceMs as cached-socket, a live heir first', async () => {
    const resolver = make({ exitedGraceMs: 1000 });
    assert.equal((await resolver.resolve([tcp(POD_A, 41000)]))[0]?.pid, 301);
    tree.removePid(301);
    clock += 200;
    assert.deepEqual((await resolver.resolve([tcp(POD_A, 41000)]))[0], { inode: 3001, uid: 0, state: 1, pid: 301, netns: NS_A, hostNetns: false, method: 'cached-socket' });
    tree.addNsPid(302, NS_A, { sockets: [3001] });
    clock += 200;
    assert.equal((await resolver.resolve([tcp(POD_A, 41000)]))[0]?.pid, 302, 'a live holder beats the cache');
    tree.removePid(302);
    clock += 200;
    assert.equal((await resolver.resolve([tcp(POD_A, 41000)]))[0]?.method, 'cached-socket', 'the exit is noticed now');
    clock += 1001;
    assert.equal((await resolver.resolve([tcp(POD_A, 41000)]))[0]?.pid, undefined, 'grace over');
  });
});

describe('procfs/SocketResolver warm() and onNewSocketHolders', () => {
  let tree: NetnsProc;
  let clock = 0;
  beforeEach(() => {
    tree = new NetnsProc();
    tree.writeNet('tcp', tcpText([{ localIp: '192.0.2.10', localPort: 40000, remoteIp: PEER, remotePort: 443, inode: 1001 }]));
    tree.addNsPid(100, HOST_NS);
  });
  afterEach(() => tree.cleanup());

  it('warm() indexes new pids between batches; new socket holders are announced before the tables are read', async () => {
    const announced: number[][] = [];
    const resolver = new SocketResolver({ proc: new ProcFs(tree.root), now: () => clock, onNewSocketHolders: (p) => announced.push(p) });
    await resolver.warm();
    tree.addNsPid(200, HOST_NS, { sockets: [1001] });
    tree.addNsPid(201, HOST_NS);
    clock += 20;
    await resolver.warm();
    const scanned = resolver.stats.pidsScanned;
    assert.equal((await resolver.resolve([tcp('192.0.2.10', 40000)]))[0]?.pid, 200);
    assert.equal(resolver.stats.pidsScanned, scanned, 'found in the warm index: no fd directory read');
    assert.deepEqual(announced, [[200]], 'announced by warm(), once');
    tree.addNsPid(300, HOST_NS, { sockets: [2001] });
    tree.addNsPid(301, HOST_NS);
    clock += 20;
    await resolver.resolve([tcp('192.0.2.10', 40000)]);
    assert.deepEqual(announced, [[200], [300]], 'only the new pid that holds a socket');
  });
});

describe('procfs/netns address and link parsers', () => {
  it('reads the /32 host LOCAL leaves of fib_trie and the addresses of if_inet6', () => {
    // As printed by a 6.x kernel (Main then Local table; 127.0.0.0 is a /8 host LOCAL, not an address of its own).
    const fib = ['Main:', '  +-- 0.0.0.0/0 3 0 5', '     |-- 0.0.0.0', '        /0 universe UNICAST', '     +-- 127.0.0.0/8 2 0 2',
      '        +-- 127.0.0.0/31 1 0 0', '           |-- 127.0.0.0', '              /8 host LOCAL', '           |-- 127.0.0.1', '              /32 host LOCAL',
      '        |-- 127.255.255.255', '           /32 link BROADCAST', '     +-- 192.0.2.0/24 2 0 2', '           |-- 192.0.2.0', '              /24 link UNICAST',
      '           |-- 192.0.2.2', '              /32 host LOCAL', 'Local:', '     |-- 192.0.2.2', '        /32 host LOCAL'].join('\n');
    assert.deepEqual(parseFibTrieLocal(fib), ['127.0.0.1', '192.0.2.2']);
    const inet6 = 'fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n00000000000000000000000000000001 01 80 10 80       lo\n20010db8000000000000000000000002 04 40 00 82     eth0\nbogus\n';
    assert.deepEqual(parseIfInet6(inet6), ['fe80::fc:ff:fe00:1', '::1', '2001:db8::2']);
    assert.deepEqual(['net:[4026531992]', 'mnt:[4026531992]', 'net:[x]', undefined].map(parseNsLink), [4026531992, 0, 0, 0]);
  });
});

describe('procfs/NetnsIndex', () => {
  let tree: NetnsProc;
  let clock: number;
  beforeEach(() => {
    tree = new NetnsProc();
    clock = 0;
    tree.addNsPid(100, HOST_NS);
    tree.addNsPid(300, NS_A);
    tree.addNsPid(301, NS_A);
    tree.addNsPid(200, NS_B);
    tree.addPid(150, { comm: 'noperm', ppid: 1, uid: 0, argv: ['x'] }); // no ns link: unknown namespace
  });
  afterEach(() => tree.cleanup());

  it('groups pids by namespace, picks the lowest pid as member, and re-reads links only at a regroup', async () => {
    const idx = new NetnsIndex({ proc: new ProcFs(tree.root), now: () => clock, minRefreshMs: 10, regroupMs: 1000 });
    assert.equal(idx.host, HOST_NS);
    const first = await idx.refresh();
    assert.deepEqual(first?.fresh.sort(), [100, 150, 200, 300, 301]);
    assert.deepEqual(idx.others().sort(), [NS_A, NS_B]);
    assert.equal(idx.prefix(NS_A), '300/');
    assert.equal(idx.prefix(HOST_NS), '');
    assert.deepEqual(idx.pidsOf(NS_A).sort(), [150, 300, 301], 'pids of unknown namespace are searched everywhere');
    assert.equal(await idx.refresh(), undefined, 'rate-limited');
    tree.moveNs(301, NS_B);
    tree.addNsPid(302, NS_A);
    clock += 20;
    assert.deepEqual((await idx.refresh())?.fresh, [302]);
    assert.equal(idx.netnsOf(301), NS_A, 'not re-read before the regroup');
    assert.deepEqual(idx.youngPids(1000, 10), [302]);
    clock += 1000;
    await idx.refresh();
    assert.equal(idx.netnsOf(301), NS_B);
    tree.removePid(300);
    clock += 20;
    await idx.refresh();
    assert.equal(idx.prefix(NS_A), '302/', 'the member died: the next lowest');
    assert.equal(idx.stats.deadPids, 2, 'pid 300 dropped, and 301 left A once');
  });

  it('unseenPids: the processes given ids since the listing, newest first, across the wrap at pid_max, never a thread', async () => {
    const kernel = path.join(tree.root, 'sys', 'kernel');
    fs.mkdirSync(kernel, { recursive: true });
    const lastPid = (n: number): void => fs.writeFileSync(path.join(kernel, 'ns_last_pid'), `${n}\n`);
    fs.writeFileSync(path.join(kernel, 'pid_max'), '32768\n');
    lastPid(32700);
    const idx = new NetnsIndex({ proc: new ProcFs(tree.root), now: () => clock });
    await idx.refresh(true);
    // Born since: 32750 and its thread 32760, then (ids start again from the bottom) 310 and 320.
    tree.addNsPid(32750, HOST_NS);
    fs.mkdirSync(path.join(tree.root, '32760'));
    fs.writeFileSync(path.join(tree.root, '32760', 'status'), 'Name:\tworker\nTgid:\t32750\nPid:\t32760\n');
    tree.addNsPid(310, HOST_NS);
    tree.addNsPid(320, HOST_NS);
    lastPid(320);
    assert.deepEqual(idx.unseenPids(16), [320, 310, 32750]);
    assert.deepEqual(idx.unseenPids(2), [320, 310], 'at most max');
    fs.rmSync(path.join(kernel, 'pid_max'));
    assert.deepEqual(idx.unseenPids(16), [320, 310], 'pid_max unreadable: the ids below the last one');
    fs.writeFileSync(path.join(kernel, 'pid_max'), '32768\n');
    lastPid(32760);
    assert.deepEqual(idx.unseenPids(16), [32750], 'no wrap: the ids between the listing and the last one');
    // The last 4,096 ids at most: from 4,992 down to 897; 320, 310 and (before the wrap) 32750 are further back.
    tree.addNsPid(4000, HOST_NS);
    lastPid(4992);
    assert.deepEqual(idx.unseenPids(16), [4000], 'the newest 4,096 ids looked at, no further');
  });
});
