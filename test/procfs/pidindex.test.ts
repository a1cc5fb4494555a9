// PidIndex.search (likeliest fd first, stop when found) and the full-scan limits, on a fake
// /proc tree: a new socket at the lowest free fd or at the fd of the oldest socket is found
// without listing the directory; a long-lived socket stops being guessed; closed sockets leave
// the index (and are remembered as exited within the grace); a full scan goes newest pid first,
// stops at the holder, and waits ten times what the last one cost.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ProcFs, SocketResolver, type FlowEnds } from '../../lib/procfs/index.js';
import { FdBits } from '../../lib/procfs/fdbits.js';
import { PidIndex } from '../../lib/procfs/pidindex.js';
import { FIXTURES_DIR } from '../helpers/env.js';
import { FakeProc } from './faketree.js';

const HAND = path.join(FIXTURES_DIR, 'procfs', 'handwritten');
// In the handwritten tcp table: 192.0.2.10:42001 → 203.0.113.5:443 is inode 8001, :42003 is 8003.
const tcp = (localPort: number): FlowEnds => ({ transport: 'tcp', localIp: '192.0.2.10', localPort, remoteIp: '203.0.113.5', remotePort: 443 });

describe('procfs/FdBits', () => {
  it('adds, deletes, grows, and names the lowest free fd', () => {
    const bits = new FdBits(8);
    for (const fd of [0, 1, 2, 4]) bits.add(fd);
    assert.equal(bits.firstFree(), 3);
    bits.add(3);
    assert.equal(bits.firstFree(), 5);
    bits.add(700);
    assert.deepEqual([bits.has(700), bits.has(699), bits.has(5000)], [true, false, false]);
    bits.delete(1);
    assert.equal(bits.firstFree(), 1);
    bits.add(-1);
    bits.add(1 << 21);
    assert.equal(bits.has(1 << 21), false, 'fds past the bound are not remembered');
  });
});

describe('procfs/PidIndex.search', () => {
  let tree: FakeProc;
  let clock: number;
  let index: PidIndex;

  beforeEach(() => {
    tree = new FakeProc();
    // fds 0 and 1 (not sockets), sockets 7001-7003 at fds 3-5.
    tree.addPid(100, { comm: 'client', ppid: 1, uid: 0, argv: ['client'], sockets: [7001, 7002, 7003] });
    clock = 1000;
    index = new PidIndex(new ProcFs(tree.root), { exitedGraceMs: 5000, now: () => clock });
    index.scanSync([100]);
  });
  afterEach(() => tree.cleanup());

  it('finds a socket at the lowest free fd without listing the directory', () => {
    tree.addSocket(100, 2, 7010);
    const listed = index.stats.pidsScanned;
    assert.deepEqual(index.search(100, new Set([7010])), [7010]);
    assert.equal(index.stats.pidsScanned, listed, 'no readdir');
    assert.equal(index.stats.guessHits, 1);
    assert.equal(index.lookup(7010)?.pid, 100);
  });

  it('finds a socket that took the fd of the oldest socket (closed first), and forgets the closed one', () => {
    tree.addSocket(100, 2, 7004);
    index.search(100, new Set([7004]));
    // The program closes its oldest connection (7001 at fd 3), then connects: fd 3 again.
    tree.closeFd(100, 3);
    tree.addSocket(100, 3, 7005);
    const listed = index.stats.pidsScanned;
    assert.deepEqual(index.search(100, new Set([7005])), [7005]);
    assert.equal(index.stats.pidsScanned, listed, 'no readdir');
    assert.equal(index.lookup(7001), undefined, 'the closed socket is not reported live');
    assert.equal(index.recentlyExited(7001), undefined, 'nor as an exited holder: pid 100 still runs (someone else may hold 7001)');
  });

  it('remembers the sockets of a pid that has exited, for the grace period only', () => {
    tree.removePid(100);
    assert.equal(index.lookup(7002), undefined);
    assert.deepEqual([index.recentlyExited(7002)?.pid, index.recentlyExited(7003)?.pid], [100, 100]);
    clock += 5001;
    assert.equal(index.recentlyExited(7003), undefined);
  });

  it('stops guessing a long-lived socket, lists the directory, and stops reading once found', () => {
    // 7001 stays open: the first search guesses its fd, finds it unchanged, marks it steady.
    for (let fd = 6; fd < 30; fd++) tree.addSocket(100, fd, 7100 + fd);
    tree.addSocket(100, 2, 7099);
    index.scanSync([100]);
    tree.closeFd(100, 2);
    tree.addSocket(100, 40, 7200);
    const reads = index.stats.fdReads;
    assert.deepEqual(index.search(100, new Set([7200])), [7200]);
    const first = index.stats.fdReads - reads;
    // Guesses (fd 2 gone, fd 3 unchanged), then the listing: fd 40 is the only new name, read first.
    assert.ok(first <= 3, `read ${first} fds of 29`);
    tree.addSocket(100, 41, 7201);
    const before = index.stats.fdReads;
    index.search(100, new Set([7201]));
    assert.ok(index.stats.fdReads - before <= 3, 'fd 3 (steady) is not guessed again');
  });

  it('reports nothing for a pid that has gone', () => {
    tree.removePid(100);
    assert.deepEqual(index.search(100, new Set([7001])), []);
    assert.equal(index.lookup(7001), undefined);
  });
});

/** A proc root whose fd reads cost 1 ms of the test clock each. */
class SlowFds extends ProcFs {
  constructor(root: string, private readonly tick: () => void) { super(root); }
  override resolve(rel: string): string {
    if (/^\d+\/fd\/\d+$/.test(rel)) this.tick();
    return super.resolve(rel);
  }
}

describe('procfs/PidIndex.creatorOf (a socket inherited across fork)', () => {
  let tree: FakeProc;
  let index: PidIndex;
  // A script's shell (200) made socket 9001 at fd 3 (`exec 3<>/dev/tcp/...`), then ran
  // `cat <&3 | wc -c`: cat (201) holds it at fd 3 and as its input (fd 0), wc (202) at fd 3.
  // The shell's own parent (150) does not hold it.
  beforeEach(() => {
    tree = new FakeProc();
    tree.addPid(150, { comm: 'sshd', ppid: 1, uid: 0, argv: ['sshd'] });
    tree.addPid(200, { comm: 'bash', ppid: 150, uid: 1000, argv: ['bash', 'fetch.sh'], sockets: [9001] });
    tree.addPid(201, { comm: 'cat', ppid: 200, uid: 1000, argv: ['cat'] });
    fs.rmSync(path.join(tree.root, '201', 'fd', '0'));
    tree.addSocket(201, 0, 9001);
    tree.addSocket(201, 3, 9001);
    tree.addPid(202, { comm: 'wc', ppid: 200, uid: 1000, argv: ['wc', '-c'], sockets: [9001] });
    index = new PidIndex(new ProcFs(tree.root));
  });
  afterEach(() => tree.cleanup());

  it('climbs from a command to the shell that made the socket, whichever holder was read last', () => {
    // Read in this order, the inode's entry names the shell; read the other way, wc.
    for (const order of [[202, 201, 200], [200, 201, 202]]) {
      index = new PidIndex(new ProcFs(tree.root));
      index.scanSync(order);
      assert.equal(index.lookup(9001)?.pid, order[2], 'the entry names the last holder read');
      assert.equal(index.creatorOf(202, 9001, 4), 200, `wc -> bash (read ${order.join(', ')})`);
      assert.equal(index.creatorOf(201, 9001, 4), 200, `cat, holding it at 0 and 3 -> bash (read ${order.join(', ')})`);
      assert.equal(index.creatorOf(200, 9001, 4), 200, 'the shell stays: its parent does not hold the socket');
    }
  });

  it('stays with the holder when its fd is not known, or when no level is allowed', () => {
    index.scanSync([200]);
    assert.equal(index.creatorOf(202, 9001, 4), 202, 'wc was never read: its fd is not known');
    index.scanSync([202]);
    assert.equal(index.creatorOf(202, 9001, 0), 202);
    assert.equal(index.creatorOf(202, 9001, 1), 200);
  });

  it('a holder with very many sockets is not walked whole: its entry\'s fd and the standard fds are looked at', () => {
    // A server-like child that inherited the shell's socket at fd 3, then opened 80 of its own.
    tree.addPid(203, { comm: 'srv', ppid: 200, uid: 1000, argv: ['srv'], sockets: [9001, ...Array.from({ length: 80 }, (_, i) => 12000 + i)] });
    index.scanSync([200, 203]);
    assert.equal(index.lookup(9001)?.pid, 203, 'the entry names it (read last)');
    assert.equal(index.creatorOf(203, 9001, 4), 200, 'its entry\'s fd, 3, is the shell\'s too');
    // Read the other way, the entry names the shell, and fd 3 of a holder this big is not looked
    // for among its 81 sockets (a cost per connection): it stays. A few sockets are walked (above).
    index = new PidIndex(new ProcFs(tree.root));
    index.scanSync([203, 200]);
    assert.equal(index.creatorOf(203, 9001, 4), 203);
  });

  it('does not climb to a parent that holds another socket at that fd', () => {
    tree.closeFd(200, 3);
    tree.addSocket(200, 3, 9002);
    index.scanSync([200, 201, 202]);
    assert.equal(index.creatorOf(202, 9001, 4), 202);
    assert.equal(index.creatorOf(201, 9001, 4), 201);
  });
});

describe('procfs/SocketResolver full scans', () => {
  let tree: FakeProc;
  let clock: number;

  beforeEach(() => {
    tree = new FakeProc();
    for (const name of ['tcp', 'tcp6', 'udp', 'udp6']) tree.writeNet(name, fs.readFileSync(path.join(HAND, name), 'utf8'));
    tree.addPid(100, { comm: 'curl', ppid: 1, uid: 1000, argv: ['curl'], sockets: [8001] });
    for (let pid = 200; pid < 240; pid++) tree.addPid(pid, { comm: 'idle', ppid: 1, uid: 0, argv: ['idle'] });
    clock = 10_000;
  });
  afterEach(() => tree.cleanup());

  it('go newest pid first and stop at the holder', async () => {
    const resolver = new SocketResolver({ proc: new ProcFs(tree.root), now: () => clock, hotPids: 0 });
    assert.equal((await resolver.resolve([tcp(42001)]))[0]?.pid, 100);
    tree.addSocket(239, 5, 8003);
    clock += 1000;
    const scanned = resolver.stats.pidsScanned;
    assert.equal((await resolver.resolve([tcp(42003)]))[0]?.pid, 239);
    assert.equal(resolver.stats.fullScans, 1);
    assert.ok(resolver.stats.pidsScanned - scanned < 41, `scanned ${resolver.stats.pidsScanned - scanned} of 41 pids`);
  });

  it('wait ten times what the last one cost', async () => {
    const resolver = new SocketResolver({ proc: new SlowFds(tree.root, () => { clock += 1; }), now: () => clock, hotPids: 0 });
    await resolver.resolve([tcp(42001)]);
    tree.addSocket(100, 9, 8003);
    clock += 1000;
    assert.equal((await resolver.resolve([tcp(42003)]))[0]?.pid, 100, 'pid 100 is scanned last: the scan reads ~80 fds');
    assert.equal(resolver.stats.fullScans, 1);
    tree.closeFd(100, 9);
    tree.addSocket(100, 9, 8003);
    tree.addSocket(100, 10, 8001);
    tree.closeFd(100, 3);
    clock += 300; // past the 250 ms floor, short of ten times ~80 ms
    await resolver.resolve([tcp(42001)]);
    assert.deepEqual([resolver.stats.fullScans, resolver.stats.fullScansDeferred], [1, 1]);
    clock += 1000;
    assert.equal((await resolver.resolve([tcp(42001)]))[0]?.pid, 100);
    assert.equal(resolver.stats.fullScans, 2);
  });
});
