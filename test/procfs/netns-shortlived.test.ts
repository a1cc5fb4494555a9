// Short-lived connections, measured: a python server on 127.0.0.1 answers at once, `curl`
// connects, sends, reads and exits. The client's SYN is captured live on `lo` and handed to the
// resolver the way the pipeline's Attributor does (probed at once, then queued, one resolve()
// per event-loop turn).
// The attribution rate is printed, not asserted (timing depends on the machine); what is
// asserted is that every SYN was seen and that no connection is ever given a wrong pid.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { LiveCapture } from '../../lib/capture/index.js';
import { DecodeStats, PacketInfo, decodePacket } from '../../lib/decode/index.js';
import { ConnectTracer, ProcFs, SocketResolver, type FlowEnds, type SocketOwner, type SocketResolverOptions } from '../../lib/procfs/index.js';
import { haveCommand, isRoot, requirePrereq } from '../helpers/env.js';

const CONNECTIONS = 50;
const SERVER = `
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
for _ in range(${CONNECTIONS * 4}):
    c, _ = s.accept()
    c.recv(4096)
    c.sendall(b'HTTP/1.0 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok')
    c.close()
`;

interface Run { stats?: Record<string, number>; syns: number; readableAtResult: number; snapshotted: number; withPid: number; wrongPid: number; withSocket: number; methods: Record<string, number> }

/** Feeds captured SYNs to the resolver like the Attributor: a queue drained once per event-loop turn. */
class BatchFeeder {
  readonly results: Promise<{ owner?: SocketOwner; readable?: boolean }>[] = [];
  private queue: { flow: FlowEnds; done: (o: { owner?: SocketOwner; readable?: boolean }) => void }[] = [];
  private scheduled = false;
  constructor(private readonly resolver: SocketResolver) {}

  push(flow: FlowEnds): void {
    // As the Attributor does: a synchronous look at the socket first (netlink only), then the batch.
    this.resolver.probe(flow);
    this.results.push(new Promise((done) => this.queue.push({ flow, done })));
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      const batch = this.queue;
      this.queue = [];
      this.scheduled = false;
      // readable: could the Attributor still read the process (cmdline) when the owner arrived?
      void this.resolver.resolve(batch.map((b) => b.flow)).then((owners) => batch.forEach((b, i) => b.done({ owner: owners[i], readable: cmdlineReadable(owners[i]?.pid) })));
    });
  }
}

function cmdlineReadable(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`).length > 0;
  } catch {
    return false;
  }
}

async function runCurls(port: number, count: number, pids: Set<number>): Promise<void> {
  for (let i = 0; i < count; i++) {
    const child: ChildProcess = spawn('curl', ['-s', '-o', '/dev/null', '--max-time', '2', `http://127.0.0.1:${port}/`], { stdio: 'ignore' });
    if (child.pid) pids.add(child.pid);
    await once(child, 'exit');
  }
}

export async function measureShortLived(opts: Omit<SocketResolverOptions, 'proc'>, count = CONNECTIONS): Promise<Run> {
  const server = spawn('python3', ['-c', SERVER], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const [line] = (await once(server.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
    const port = Number(line.toString().trim());
    // What a process-facts snapshot taken in the hook would have kept (here: the cmdline).
    const snapshots = new Map<number, string>();
    const onNewSocketHolders = (pids: number[]): void => {
      for (const pid of pids) {
        try { snapshots.set(pid, fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1')); } catch { /* gone already */ }
      }
    };
    const resolver = new SocketResolver({ proc: new ProcFs('/proc'), onNewSocketHolders, log: () => undefined, ...opts });
    const feeder = new BatchFeeder(resolver);
    const out = new PacketInfo();
    const stats = new DecodeStats();
    const capture = LiveCapture.open({ interfaces: ['lo'], filter: `tcp dst port ${port}`, bufferBytes: 1 << 20, snapLength: 256, immediate: true },
      (buf, caplen, wireLen, _ts, linkType) => {
        if (!decodePacket(linkType, buf, caplen, out, stats, wireLen) || out.protocol !== 6 || out.tcpFlags !== 0x02) return;
        feeder.push({ transport: 'tcp', localIp: '127.0.0.1', localPort: out.srcPort, remoteIp: '127.0.0.1', remotePort: out.dstPort });
      });
    const pids = new Set<number>();
    try {
      await runCurls(port, count, pids);
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      capture.close();
    }
    const results = await Promise.all(feeder.results);
    const owners = results.map((r) => r.owner);
    const run: Run = {
      snapshotted: owners.filter((o) => o?.pid !== undefined && (snapshots.get(o.pid) ?? '').startsWith('curl')).length,
      readableAtResult: results.filter((r) => r.readable).length, syns: owners.length, withPid: 0, wrongPid: 0, withSocket: 0, methods: {} };
    for (const o of owners) {
      if (o && o.inode !== 0) run.withSocket++;
      if (o?.pid === undefined) continue;
      if (pids.has(o.pid)) run.withPid++;
      else run.wrongPid++;
      const m = (o as { method?: string }).method ?? 'procfs-socket';
      run.methods[m] = (run.methods[m] ?? 0) + 1;
    }
    run.stats = resolver.stats;
    resolver.close();
    return run;
  } finally {
    server.kill('SIGKILL');
  }
}

describe('procfs: short-lived connections (curl to a local server that answers at once)', function () {
  this.timeout(60000);
  before(function () {
    requirePrereq(this, isRoot() && haveCommand('curl') && haveCommand('python3'), 'root, curl and python3 for live capture on lo');
  });

  it(`attributes the SYNs of ${CONNECTIONS} curl runs without ever naming a wrong process`, async () => {
    const modes: [string, Omit<SocketResolverOptions, 'proc'>][] = [
      ['/proc/net', { sockDiag: false }], ['/proc/net, exitedGraceMs=2000', { sockDiag: false, exitedGraceMs: 2000 }],
      ['netlink (when built)', {}], ['netlink, exitedGraceMs=2000', { exitedGraceMs: 2000 }],
    ];
    for (const [name, opts] of modes) {
      const run = await measureShortLived(opts);
      const { stats, ...counts } = run;
      console.log(`      ${name}: rate=${(run.withPid / run.syns).toFixed(2)} ${JSON.stringify(counts)} staleHits=${stats?.staleHits} pidMisses=${stats?.pidMisses} diagHits=${stats?.diagHits}`);
      assert.equal(run.syns, CONNECTIONS, 'every SYN captured and resolved');
      assert.equal(run.wrongPid, 0);
    }
  });

  it(`with the connect tracer: the SYNs of ${CONNECTIONS} curl runs name their process (rate >= 0.9), never a wrong one`, async function () {
    const logs: string[] = [];
    const tracer = ConnectTracer.open({ log: (m) => logs.push(m) });
    requirePrereq(this, tracer !== undefined, `the connect tracer (${logs.join('; ')})`);
    try {
      const run = await measureShortLived({ tracer });
      const { stats, ...counts } = run;
      console.log(`      netlink + connect tracer: rate=${(run.withPid / run.syns).toFixed(2)} ${JSON.stringify(counts)} tracedOwners=${stats?.tracedOwners}`);
      assert.equal(run.syns, CONNECTIONS, 'every SYN captured and resolved');
      assert.equal(run.wrongPid, 0);
      assert.ok(run.withPid / run.syns >= 0.9, JSON.stringify(counts));
    } finally {
      tracer?.close();
    }
  });
});
