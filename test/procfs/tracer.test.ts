// The connect tracer (native/tracer.c through ConnectTracer): real BPF programs on the real
// kernel, and real client processes that connect over TCP (IPv4, IPv6, an IPv4 peer through a
// dual-stack socket) and send over UDP, then close and exit; the kernel's record must name each
// one's pid, uid and comm afterwards, when neither /proc nor sock_diag can any more. Then the
// resolver: a flow whose socket is gone is attributed to its maker (method ebpf-connect), and a
// record that is not the flow's own (time) is refused. And the BTF reader on crafted blobs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ConnectTracer, ExecWatch, ProcFs, SNAPSHOT_FILES, SNAPSHOT_LINKS, SnapshotProcFs, SocketResolver, sockOffsets } from '../../lib/procfs/index.js';
import { Attributor, type Attribution } from '../../lib/pipeline/index.js';
import { Flow } from '../../lib/flows/index.js';
import { SoftwareContext } from '../../lib/software/index.js';
import { REPO_ROOT, haveCommand, isRoot, requirePrereq } from '../helpers/env.js';
import { firstLine } from '../helpers/stream.js';

const ADDON = path.join(REPO_ROOT, 'native', 'build', 'Release', 'egresswatch_netlink.node');
const PYTHON = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => fs.existsSync(p)) ?? '';

/** A BTF blob (little-endian) of the given types; each type is [name, info, size/type, extra words]. */
function btf(types: { name: string; kind: number; vlen?: number; kflag?: boolean; size?: number; extra?: number[]; members?: ([string, number] | [string, number, number])[] }[]): Buffer {
  const strings = ['\0'];
  const nameOff = (s: string): number => {
    const at = strings.join('').length;
    strings.push(`${s}\0`);
    return at;
  };
  const words: number[] = [];
  for (const t of types) {
    const vlen = t.members?.length ?? t.vlen ?? 0;
    words.push(nameOff(t.name), ((t.kflag ? 1 : 0) << 31 | (t.kind << 24) | vlen) >>> 0, t.size ?? 0);
    for (const [m, off, type] of t.members ?? []) words.push(m === '' ? 0 : nameOff(m), type ?? 1, off);
    words.push(...(t.extra ?? []));
  }
  const typeBytes = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => typeBytes.writeUInt32LE(w >>> 0, i * 4));
  const str = Buffer.from(strings.join(''), 'latin1');
  const hdr = Buffer.alloc(24);
  hdr.writeUInt16LE(0xeb9f, 0);
  hdr.writeUInt8(1, 2);
  hdr.writeUInt32LE(24, 4);
  hdr.writeUInt32LE(0, 8);
  hdr.writeUInt32LE(typeBytes.length, 12);
  hdr.writeUInt32LE(typeBytes.length, 16);
  hdr.writeUInt32LE(str.length, 20);
  return Buffer.concat([hdr, typeBytes, str]);
}

const SOCK_COMMON: [string, number][] = [['skc_family', 128], ['skc_state', 144], ['skc_v6_daddr', 448], ['skc_v6_rcv_saddr', 576]];

describe('procfs/tracer: offsets from the kernel BTF', () => {
  it('reads sock_common IPv6 addresses and sock.sk_protocol past types of every size', () => {
    const blob = btf([
      { name: 'int', kind: 1, size: 4, extra: [0x20] },
      { name: 'e', kind: 6, vlen: 2, size: 4, extra: [1, 0, 2, 1] },
      { name: 'arr', kind: 3, extra: [1, 1, 4] },
      { name: 'sock_common', kind: 4, size: 136, members: SOCK_COMMON },
      { name: 'fp', kind: 13, vlen: 1, extra: [0, 1] },
      { name: 'sock', kind: 4, size: 800, members: [['__sk_common', 0], ['sk_protocol', 532 * 8]] },
    ]);
    assert.deepEqual(sockOffsets(blob), { v6Saddr: 72, v6Daddr: 56, protocol: 532, skbSk: 0, sockSocket: 0, socketFile: 0 });
  });

  it('finds sk_buff.sk inside an anonymous union (through a typedef), as on Linux 5.x-6.x, and sock.sk_socket, socket.file', () => {
    const blob = btf([
      { name: 'int', kind: 1, size: 4, extra: [0x20] }, // id 1
      { name: '', kind: 5, size: 8, members: [['sk', 0, 1], ['ip_defrag_offset', 0, 1]] }, // id 2: the anonymous union
      { name: 'u_t', kind: 8, size: 2 }, // id 3: typedef of it
      { name: 'sk_buff', kind: 4, size: 232, members: [['next', 0], ['prev', 64], ['', 192, 3]] },
      { name: 'sock_common', kind: 4, members: SOCK_COMMON },
      { name: 'sock', kind: 4, members: [['__sk_common', 0], ['sk_protocol', 532 * 8], ['sk_socket', 600 * 8]] },
      { name: 'socket', kind: 4, members: [['state', 0], ['file', 16 * 8]] },
    ]);
    assert.deepEqual(sockOffsets(blob), { v6Saddr: 72, v6Daddr: 56, protocol: 532, skbSk: 24, sockSocket: 600, socketFile: 16 });
  });

  it('gives no sk_protocol when it is a bitfield (kernels before 5.6), and nothing when the fixed head moved', () => {
    const bitfield = btf([
      { name: 'sock_common', kind: 4, members: SOCK_COMMON },
      { name: 'sock', kind: 4, kflag: true, members: [['__sk_common', 0], ['sk_protocol', (8 << 24) | (520 * 8 + 8)]] },
    ]);
    assert.deepEqual(sockOffsets(bitfield), { v6Saddr: 72, v6Daddr: 56, protocol: 0, skbSk: 0, sockSocket: 0, socketFile: 0 });
    const moved = btf([
      { name: 'sock_common', kind: 4, members: [['skc_family', 20 * 8], ['skc_v6_daddr', 448], ['skc_v6_rcv_saddr', 576]] },
      { name: 'sock', kind: 4, members: [['__sk_common', 0], ['sk_protocol', 532 * 8]] },
    ]);
    assert.deepEqual(sockOffsets(moved), { v6Saddr: 0, v6Daddr: 0, protocol: 0, skbSk: 0, sockSocket: 0, socketFile: 0 });
  });

  it('refuses what is not BTF, and reads this kernel\'s', function () {
    assert.throws(() => sockOffsets(Buffer.from('not btf at all, really not')), /BTF/);
    const file = '/sys/kernel/btf/vmlinux';
    if (!fs.existsSync(file)) this.skip();
    const off = sockOffsets(fs.readFileSync(file));
    assert.ok(off.v6Daddr >= 20 && off.v6Saddr === off.v6Daddr + 16, JSON.stringify(off));
    assert.ok(off.protocol > 20, JSON.stringify(off));
    assert.ok(off.skbSk > 0 && off.sockSocket > 0 && off.socketFile > 0, JSON.stringify(off));
  });
});

describe('procfs/tracer: the kernel names the process that connected, after it is gone', function () {
  this.timeout(30_000);
  const logs: string[] = [];
  let tracer: ConnectTracer;
  let server: net.Server;
  let port = 0;

  before(async function () {
    requirePrereq(this, fs.existsSync(ADDON), `the netlink addon (${ADDON}; npm run build)`);
    requirePrereq(this, isRoot(), 'root (BPF programs)');
    requirePrereq(this, PYTHON !== '', 'python3');
    const t = ConnectTracer.open({ log: (m) => logs.push(m) });
    assert.ok(t, `ConnectTracer.open failed: ${logs.join('; ')}`);
    tracer = t;
    server = net.createServer((c) => { c.on('error', () => undefined); c.end('hi'); }).listen({ host: '::', port: 0 });
    await once(server, 'listening');
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => {
    tracer?.close();
    server?.close();
  });

  /** Runs a python3 client to its exit; returns its pid and what it printed (one value a line). */
  async function client(code: string): Promise<{ pid: number; lines: string[] }> {
    const child = spawn(PYTHON, ['-c', `import os, socket\nprint(os.getpid())\n${code}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const [codeOut] = await once(child, 'exit') as [number];
    assert.equal(codeOut, 0, `client exited ${codeOut}: ${out}`);
    const [pid, ...lines] = out.trim().split('\n');
    return { pid: Number(pid), lines };
  }

  /**
   * A python that connects and forks; the child keeps the socket (and the connection) and lingers
   * 5 s, the parent exits at once: only the child holds it when anyone looks. Resolves once the
   * parent has exited; the caller kills the child.
   */
  async function makerLeavesSocketToChild(): Promise<{ makerPid: number; childPid: number; lport: number; startTime: number }> {
    const maker = spawn(PYTHON, ['-c', `import os, socket, time
c = socket.create_connection(('127.0.0.1', ${port}))
at = time.time() * 1000
child = os.fork()
if child == 0:
    time.sleep(5)
    os._exit(0)
print(os.getpid(), child, c.getsockname()[1], at, flush=True)
os._exit(0)`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = once(maker, 'exit');
    const [makerPid, childPid, lport, at] = (await firstLine(maker.stdout!)).trim().split(' ').map(Number);
    await exited;
    return { makerPid, childPid, lport, startTime: at };
  }

  function assertMine(t: ReturnType<ConnectTracer['lookupTcp']>, pid: number): void {
    assert.ok(t, 'a record');
    assert.equal(t.pid, pid);
    assert.equal(t.uid, process.getuid!());
    assert.equal(t.comm, 'python3');
    assert.ok(Math.abs(t.at - Date.now()) < 10_000, `time ${new Date(t.at).toISOString()}`);
  }

  it('TCP over IPv4, IPv6 and an IPv4 peer of a dual-stack socket: the exited client\'s pid, uid and comm', async () => {
    const { pid, lines } = await client([
      `c = socket.create_connection(('127.0.0.1', ${port})); print(c.getsockname()[1]); c.recv(10); c.close()`,
      `c = socket.create_connection(('::1', ${port})); print(c.getsockname()[1]); c.recv(10); c.close()`,
      `c = socket.socket(socket.AF_INET6); c.connect(('::ffff:127.0.0.1', ${port})); print(c.getsockname()[1]); c.recv(10); c.close()`,
    ].join('\n'));
    assert.throws(() => fs.statSync(`/proc/${pid}`), 'the client is gone');
    const [v4, v6, mapped] = lines.map(Number);
    assertMine(tracer.lookupTcp('127.0.0.1', v4, '127.0.0.1', port), pid);
    if (tracer.ipv6) assertMine(tracer.lookupTcp('::1', v6, '::1', port), pid);
    assertMine(tracer.lookupTcp('127.0.0.1', mapped, '127.0.0.1', port), pid);
    assert.equal(tracer.lookupTcp('127.0.0.1', v4, '127.0.0.1', port + 1 > 65535 ? 1 : port + 1), undefined, 'another 4-tuple');
  });

  it('one per process: a second open while one is attached is refused, and says so', () => {
    const more: string[] = [];
    assert.equal(ConnectTracer.open({ log: (m) => more.push(m) }), undefined);
    assert.match(more[0], /another one is open in this process/);
  });

  it('UDP: the last process that sent from a local port', async function () {
    if (!tracer.udp) this.skip(); // sock_send_length: Linux 6.3+
    const { pid, lines } = await client(`u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.sendto(b'x', ('127.0.0.1', 9)); print(u.getsockname()[1])`);
    assertMine(tracer.lookupUdp('127.0.0.1', Number(lines[0])), pid);
  });

  it('the resolver attributes a flow whose socket is gone to its maker (ebpf-connect), not a record of another time', async () => {
    const resolver = new SocketResolver({ proc: new ProcFs('/proc'), tracer });
    try {
      // The client closes its socket and stays alive a moment: the socket is in TIME_WAIT (no inode, no holder).
      const child = spawn(PYTHON, ['-c', `import socket, time
c = socket.create_connection(('127.0.0.1', ${port}))
at = time.time() * 1000
lport = c.getsockname()[1]
c.recv(10)
c.close()
print(lport, at, flush=True)
time.sleep(5)`], { stdio: ['ignore', 'pipe', 'inherit'] });
      const [lport, startTime] = (await firstLine(child.stdout)).trim().split(' ').map(Number);
      await new Promise((r) => setTimeout(r, 200));
      const flow = { transport: 'tcp' as const, localIp: '127.0.0.1', localPort: lport, remoteIp: '127.0.0.1', remotePort: port };
      const [owner] = await resolver.resolve([{ ...flow, startTime }]);
      child.kill();
      assert.equal(owner?.pid, child.pid);
      assert.equal(owner?.method, 'ebpf-connect');
      const [stale] = await resolver.resolve([{ ...flow, startTime: Date.now() + 60_000 }]);
      assert.equal(stale?.pid, undefined, 'a record a minute away from the flow is another connection\'s');
      assert.ok(resolver.stats.tracedStale >= 1);
    } finally {
      resolver.close();
    }
  });

  it('a socket its maker left to a child (fork, then exit) is the maker\'s, with the child as the fallback', async () => {
    const resolver = new SocketResolver({ proc: new ProcFs('/proc'), tracer });
    const { makerPid, childPid, lport, startTime } = await makerLeavesSocketToChild();
    try {
      const flow = { transport: 'tcp' as const, localIp: '127.0.0.1', localPort: lport, remoteIp: '127.0.0.1', remotePort: port, startTime };
      // The child is a new pid: its fds may wait for the rate-limited scan (as the Attributor does, ask again).
      let [owner] = await resolver.resolve([flow]);
      for (let i = 0; i < 5 && owner?.holder === undefined; i++) {
        await new Promise((r) => setTimeout(r, 300));
        [owner] = await resolver.resolve([flow]);
      }
      assert.equal(owner?.pid, makerPid, 'the maker');
      assert.equal(owner?.method, 'ebpf-connect');
      assert.deepEqual(owner?.holder, { pid: childPid, method: 'procfs-socket' }, 'the holder, as the fallback');
      assert.ok(resolver.stats.tracedMakers >= 1);
    } finally {
      try { process.kill(childPid, 'SIGKILL'); } catch { /* gone */ }
      resolver.close();
    }
  });

  it('the Attributor describes the gone maker from its exec copy, else falls back to the holder', async () => {
    const run = async (withCopies: boolean): Promise<{ attribution: Attribution; makerPid: number; childPid: number }> => {
      const watch = withCopies ? ExecWatch.open('/proc', SNAPSHOT_FILES, SNAPSHOT_LINKS) : undefined;
      if (withCopies) assert.ok(watch, 'the exec watcher starts as root');
      const proc = new SnapshotProcFs('/proc', { execCopies: watch });
      const resolver = new SocketResolver({ proc, tracer });
      const attributor = new Attributor({ resolver, software: new SoftwareContext({ proc, catalog: false, files: false }), now: Date.now });
      const { makerPid, childPid, lport, startTime } = await makerLeavesSocketToChild();
      try {
        const flow = new Flow('tcp', 4, '127.0.0.1', lport, '127.0.0.1', port, startTime, true);
        return { attribution: await attributor.attribute(flow), makerPid, childPid };
      } finally {
        try { process.kill(childPid, 'SIGKILL'); } catch { /* gone */ }
        resolver.close();
        watch?.close();
      }
    };
    const copied = await run(true);
    assert.equal(copied.attribution.method, 'ebpf-connect');
    assert.equal(copied.attribution.described?.process.pid, copied.makerPid, 'the maker, from its exec copy');
    assert.equal(copied.attribution.described?.software.id, 'python3 -c');
    const bare = await run(false);
    assert.equal(bare.attribution.method, 'procfs-socket', 'nothing describes the maker: the holder');
    assert.equal(bare.attribution.described?.process.pid, bare.childPid);
  });

  it('UDP is keyed by local port alone: a sender of another network namespace is not a host flow\'s owner', async function () {
    if (!tracer.udp || !haveCommand('unshare') || !haveCommand('ip')) this.skip();
    const hostIp = Object.values(os.networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (hostIp === undefined) this.skip();
    const resolver = new SocketResolver({ proc: new ProcFs('/proc'), tracer });
    const lport = 20_000 + Math.floor(Math.random() * 20_000);
    // A process in a network namespace of its own sends from that port and lives on a moment.
    const child = spawn('unshare', ['-n', 'sh', '-c', `ip link set lo up && exec ${PYTHON} -c "import socket, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('127.0.0.1', ${lport})); u.sendto(b'x', ('127.0.0.1', 9)); print('sent', flush=True); time.sleep(5)"`],
    { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await once(child.stdout!, 'data');
      const rec = tracer.lookupUdp(hostIp, lport);
      assert.equal(rec?.pid, child.pid, 'the tracer has that namespace\'s sender for the port');
      const before = resolver.stats.tracedOtherNetns;
      const [owner] = await resolver.resolve([{ transport: 'udp', localIp: hostIp, localPort: lport, remoteIp: '192.0.2.9', remotePort: 53000, startTime: Date.now() - 100 }]);
      assert.equal(owner?.pid, undefined, 'a flow from the host\'s own address is not that process\'s');
      assert.equal(resolver.stats.tracedOtherNetns, before + 1);
    } finally {
      child.kill();
      resolver.close();
    }
  });
});

describe('procfs/tracer: UDP senders through net_dev_queue (kernels before 6.3)', function () {
  this.timeout(30_000);
  before(function () {
    requirePrereq(this, fs.existsSync(ADDON) && isRoot() && PYTHON !== '', 'the netlink addon, root and python3');
  });

  it('names the last sender of a local UDP port from its packets\' socket, after it has exited', async () => {
    const logs: string[] = [];
    const tracer = ConnectTracer.open({ udpViaPackets: true, log: (m) => logs.push(m) });
    assert.ok(tracer, logs.join('; '));
    try {
      assert.equal(tracer.udpVia, 'net_dev_queue');
      const child = spawn(PYTHON, ['-c', "import socket\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nu.sendto(b'x', ('127.0.0.1', 9))\nprint(u.getsockname()[1], flush=True)"],
        { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = once(child, 'exit');
      const lport = Number((await firstLine(child.stdout)).trim());
      await exited;
      const rec = tracer.lookupUdp('127.0.0.1', lport);
      assert.equal(rec?.pid, child.pid);
      assert.equal(rec?.comm, 'python3');
      // TCP packets go through the same tracepoint and are left alone.
      assert.equal(tracer.lookupUdp('127.0.0.1', 1), undefined);
    } finally {
      tracer?.close();
    }
  });
});

describe('procfs/tracer: unavailable', () => {
  it('says why once and gives undefined: no addon, an addon without the tracer, a kernel that refuses', () => {
    const logs: string[] = [];
    assert.equal(ConnectTracer.open({ addon: '/nonexistent/egresswatch_netlink.node', log: (m) => logs.push(m) }), undefined);
    assert.match(logs[0], /connect tracer unavailable \(addon not built/);
    const refusing = {
      tracerOpen: () => -1, tracerError: () => 'loading BPF program ew_tcp_connect: Operation not permitted', tracerUdpAttached: () => 0,
      tracerLookupTcp: () => 0, tracerLookupUdp: () => 0, tracerClose: () => 0,
    };
    assert.equal(ConnectTracer.open({ addon: refusing, log: (m) => logs.push(m) }), undefined);
    assert.match(logs[1], /Operation not permitted.*may go unattributed/);
  });
});
