import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ProcFs, SocketResolver, type FlowEnds } from '../../lib/procfs/index.js';
import { FIXTURES_DIR } from '../helpers/env.js';
import { FakeProc } from './faketree.js';

const HAND = path.join(FIXTURES_DIR, 'procfs', 'handwritten');
const HOST = '192.0.2.10';
const PEER = '203.0.113.5';

const tcp = (localPort: number, remoteIp = PEER, remotePort = 443, localIp = HOST): FlowEnds => ({ transport: 'tcp', localIp, localPort, remoteIp, remotePort });
const udp = (localPort: number, remoteIp: string, remotePort: number, localIp = HOST): FlowEnds => ({ transport: 'udp', localIp, localPort, remoteIp, remotePort });

describe('procfs/SocketResolver on a fake /proc tree', () => {
  let tree: FakeProc;
  let clock: number;
  let resolver: SocketResolver;

  beforeEach(() => {
    tree = new FakeProc();
    for (const name of ['tcp', 'tcp6', 'udp', 'udp6']) tree.writeNet(name, fs.readFileSync(path.join(HAND, name), 'utf8'));
    tree.addPid(100, { comm: 'curl', ppid: 1, uid: 1000, argv: ['curl'], sockets: [8001] });
    tree.addPid(200, { comm: 'java', ppid: 1, uid: 0, argv: ['java'], sockets: [5001, 5002, 6001, 6002, 7001, 7002] });
    clock = 10_000;
    resolver = new SocketResolver({ proc: new ProcFs(tree.root), now: () => clock });
  });
  afterEach(() => tree.cleanup());

  it('matches TCP by exact 4-tuple, reading only the file it needs', async () => {
    const [a, b] = await resolver.resolve([tcp(42001), tcp(42003)]);
    assert.deepEqual(a, { inode: 8001, uid: 1000, state: 1, pid: 100, hostNetns: true, method: 'procfs-socket' });
    assert.equal(b?.inode, 8003);
    assert.equal(b?.pid, undefined, 'no process holds 8003');
    assert.equal(resolver.stats.netReads, 1, 'tcp6 not read: every IPv4 flow matched exactly in tcp');
    assert.equal(resolver.stats.pidMisses, 1);
  });

  it('matches an IPv4 flow to a dual-stack socket listed as ::ffff:a.b.c.d in tcp6', async () => {
    const [owner] = await resolver.resolve([tcp(42000)]);
    assert.deepEqual(owner, { inode: 5001, uid: 1000, state: 1, pid: 200, hostNetns: true, method: 'procfs-socket' });
  });

  it('normalises IPv6 flow text and does not match a wrong peer', async () => {
    const owners = await resolver.resolve([tcp(50000, '2001:0DB8::0002', 80, '2001:db8:0:0:0:0:0:1'), tcp(42001, '198.51.100.1')]);
    assert.equal(owners[0]?.inode, 5002);
    assert.equal(owners[1], undefined);
    assert.equal(resolver.stats.socketMisses, 1);
  });

  it('UDP: exact 4-tuple, then local ip+port, then wildcard; a connected socket never takes another peer', async () => {
    const owners = await resolver.resolve([
      udp(5353, PEER, 53), // connected 7002
      udp(5353, '198.51.100.1', 53), // 7002 is connected to another peer: no match
      udp(5354, '198.51.100.1', 53), // unconnected local 7003
      udp(8080, '198.51.100.1', 9999), // mapped local 6002 in udp6 beats wildcard 0.0.0.0:8080 in udp
      udp(53, '198.51.100.1', 40000), // only [::]:53 (dual-stack wildcard)
      udp(53, '2001:db8::99', 40000, '2001:db8::1'), // IPv6 flow: the same wildcard
    ]);
    assert.deepEqual(owners.map((o) => o?.inode), [7002, undefined, 7003, 6002, 6001, 6001]);
    assert.deepEqual(owners.map((o) => o?.pid), [200, undefined, undefined, 200, 200, 200]);
    assert.equal(owners[3]?.uid, 101);
    assert.equal(resolver.stats.netReads, 2, 'udp and udp6 each read once for six flows');
  });

  it('reports a TIME_WAIT socket (inode 0) without looking for a process', async () => {
    const [owner] = await resolver.resolve([tcp(42002)]);
    assert.deepEqual(owner, { inode: 0, uid: 0, state: 6, hostNetns: true });
    assert.equal(resolver.stats.partialScans, 0);
    assert.equal(resolver.stats.pidMisses, 0);
  });

  it('refreshes incrementally: a new pid is found by a partial scan, not a full one', async () => {
    assert.equal((await resolver.resolve([tcp(42001)]))[0]?.pid, 100);
    assert.equal(resolver.stats.partialScans, 1);
    tree.addPid(300, { comm: 'wget', ppid: 1, uid: 1000, argv: ['wget'], sockets: [8003] });
    assert.equal((await resolver.resolve([tcp(42003)]))[0]?.pid, 300);
    assert.deepEqual([resolver.stats.partialScans, resolver.stats.fullScans], [2, 0]);
    // Index hits touch neither the pid listing nor any fd directory.
    const scanned = resolver.stats.pidsScanned;
    await resolver.resolve([tcp(42001), tcp(42003)]);
    assert.deepEqual([resolver.stats.partialScans, resolver.stats.fullScans, resolver.stats.pidsScanned], [2, 0, scanned]);
  });

  it('rescans all pids for a socket an indexed pid opened later, at most once per interval', async () => {
    resolver = new SocketResolver({ proc: new ProcFs(tree.root), now: () => clock, hotPids: 0 });
    tree.removePid(200);
    await resolver.resolve([tcp(42001)]);
    tree.addSocket(100, 10, 7003);
    assert.equal((await resolver.resolve([udp(5354, PEER, 53)]))[0]?.pid, 100);
    assert.equal(resolver.stats.fullScans, 1);
    tree.addSocket(100, 11, 8003);
    clock += 100; // inside the 250 ms interval: no second full scan
    assert.equal((await resolver.resolve([tcp(42003)]))[0]?.pid, undefined);
    assert.deepEqual([resolver.stats.fullScans, resolver.stats.pidMisses], [1, 1]);
    clock += 200;
    assert.equal((await resolver.resolve([tcp(42003)]))[0]?.pid, 100);
    assert.equal(resolver.stats.fullScans, 2);
  });

  it('rescans a pid that recently held an attributed socket at once, without a full scan', async () => {
    assert.equal((await resolver.resolve([tcp(42001)]))[0]?.pid, 100);
    const full = resolver.stats.fullScans;
    tree.addSocket(100, 11, 8003);
    assert.equal((await resolver.resolve([tcp(42003)]))[0]?.pid, 100);
    assert.equal(resolver.stats.fullScans, full, 'found by the hot-pid rescan');
    assert.equal(resolver.stats.hotPids, 1);
  });

  it('drops a vanished process and never reports it from a stale index entry', async () => {
    assert.equal((await resolver.resolve([tcp(42001)]))[0]?.pid, 100);
    tree.removePid(100);
    const [owner] = await resolver.resolve([tcp(42001)]);
    assert.equal(owner?.inode, 8001, 'the socket line is still listed');
    assert.equal(owner?.pid, undefined);
    assert.equal(resolver.stats.staleHits, 1);
    assert.equal(resolver.stats.deadPidsDropped, 1);
    // Handed to another pid (fd passed / inherited): found there after the stale entry is dropped.
    tree.addPid(400, { comm: 'heir', ppid: 1, uid: 0, argv: ['heir'], sockets: [8001] });
    assert.equal((await resolver.resolve([tcp(42001)]))[0]?.pid, 400);
  });

  it('survives missing net files and nonsense flows', async () => {
    fs.rmSync(path.join(tree.root, 'net', 'udp6'));
    const owners = await resolver.resolve([udp(8080, '198.51.100.1', 1), { ...tcp(1), localIp: 'bogus' }, tcp(1, '2001:db8::1')]);
    assert.equal(owners[0]?.inode, 7001, 'falls back to the IPv4 wildcard');
    assert.deepEqual(owners.slice(1), [undefined, undefined]);
    assert.equal(resolver.stats.badFlows, 2);
  });
});
