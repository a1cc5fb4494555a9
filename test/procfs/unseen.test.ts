// Processes born since the resolver's last pid listing: a client that starts, connects once and
// exits within a few ms is not in any listing while its socket is open, so the synchronous
// look at its SYN (probe) searches the ids the kernel has given out since (ns_last_pid), and
// takes a thread's id to be its process's. Real processes on the real /proc: a python client
// started after a listing, holding a TCP connection to a server of this test on 127.0.0.1.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { NetnsIndex, ProcFs, SocketResolver } from '../../lib/procfs/index.js';
import { haveCommand, isRoot, requirePrereq } from '../helpers/env.js';

/** A python3 child; resolves with the first line it prints. */
async function python(code: string): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn('python3', ['-c', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => { out += d; });
  for (let i = 0; i < 100 && !out.includes('\n'); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(out.includes('\n'), 'the child started');
  return { child, line: out.split('\n')[0] };
}

describe('procfs: processes born since the last listing', function () {
  this.timeout(20_000);
  const children: ChildProcess[] = [];
  before(function () {
    requirePrereq(this, isRoot() && haveCommand('python3'), 'root and python3');
  });
  after(async () => {
    for (const c of children) {
      c.kill();
      if (c.exitCode === null) await once(c, 'exit');
    }
  });

  it('NetnsIndex.unseenPids: the processes started after the listing, newest first, never a thread', async () => {
    const netns = new NetnsIndex({ proc: new ProcFs('/proc'), now: Date.now });
    assert.ok(netns.lastPid() !== undefined, '/proc/sys/kernel/ns_last_pid is readable');
    assert.deepEqual(netns.unseenPids(8), [], 'nothing before the first listing');
    await netns.refresh(true);
    // A process with a second thread: the thread's id is given out after the process's.
    const p = await python('import threading, time\nt = threading.Thread(target=time.sleep, args=(30,)); t.start()\nprint(t.native_id, flush=True)\ntime.sleep(30)');
    children.push(p.child);
    const tid = Number(p.line);
    // Given out after the process's id, so higher, unless the ids wrapped at pid_max in between.
    assert.ok(tid > (p.child.pid as number) || tid < 1024, `thread ${tid} of ${p.child.pid}`);
    // Newest first: room for whatever else the machine started meanwhile.
    const unseen = netns.unseenPids(1024);
    assert.ok(unseen.includes(p.child.pid as number), `${p.child.pid} in ${unseen.join(',')}`);
    assert.ok(!unseen.includes(tid), 'the thread is not taken for a process');
    await netns.refresh(true);
    assert.ok(!netns.unseenPids(1024).includes(p.child.pid as number), 'listed now: no longer unseen');
  });

  it('the probe of a SYN finds the socket of a process the last listing did not see', async function () {
    const server = net.createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const resolver = new SocketResolver({ proc: new ProcFs('/proc'), now: Date.now });
    try {
      requirePrereq(this, resolver.usesNetlink, 'netlink sock_diag in our namespace');
      // A listing now (a lookup of a flow nobody holds), then the client is born.
      await resolver.resolve([{ transport: 'tcp', localIp: '127.0.0.1', localPort: 1, remoteIp: '127.0.0.1', remotePort: 2 }]);
      const c = await python(`import socket, time\ns = socket.create_connection(('127.0.0.1', ${port}))\nprint(s.getsockname()[1], flush=True)\ntime.sleep(30)`);
      children.push(c.child);
      const flow = { transport: 'tcp' as const, localIp: '127.0.0.1', localPort: Number(c.line), remoteIp: '127.0.0.1', remotePort: port };
      const before = resolver.stats.unseenHolders;
      resolver.probe(flow);
      assert.equal(resolver.stats.unseenHolders, before + 1, JSON.stringify(resolver.stats));
      const [owner] = await resolver.resolve([flow]);
      assert.equal(owner?.pid, c.child.pid);
    } finally {
      resolver.close();
      server.close();
    }
  });
});
