// The Attributor's per-pid description cache, with the real resolver and software context on a
// real loopback connection of this process: reused within its life, renewed in the background
// past half of it (the renewal then answers past the first description's life), read again
// once it has expired.
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Attributor } from '../../lib/pipeline/index.js';
import { Flow } from '../../lib/flows/index.js';
import { ProcFs, SocketResolver } from '../../lib/procfs/index.js';
import { SoftwareContext, type Described } from '../../lib/software/index.js';
import { FakeProc } from '../procfs/faketree.js';
import { ethernet, ipv4, tcp, ETHERTYPE_IPV4, TCP_SYN } from '../helpers/packets.js';
import { NOBODY, testPipeline } from '../helpers/pipeline.js';

/** The real context, counting describe() calls. */
class CountingContext extends SoftwareContext {
  calls = 0;
  done = 0;
  override async describe(pid: number): Promise<Described | undefined> {
    this.calls++;
    try {
      return await super.describe(pid);
    } finally {
      this.done++;
    }
  }
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ok(), what);
}

describe('pipeline/Attributor process cache', () => {
  const closers: (() => void)[] = [];
  afterEach(() => {
    for (const c of closers.splice(0)) c();
  });

  /** A loopback server and this process's connection to it, closed after the test. */
  async function connected(): Promise<{ port: number; client: net.Socket }> {
    const server = net.createServer((s) => closers.push(() => s.destroy()));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    closers.push(() => server.close());
    const port = (server.address() as net.AddressInfo).port;
    const client = net.connect(port, '127.0.0.1');
    closers.push(() => client.destroy());
    await once(client, 'connect');
    return { port, client };
  }

  it('reuses a description, renews it in the background past half its life, reads it again once expired', async function () {
    this.timeout(20_000);
    const { port, client } = await connected();
    const proc = new ProcFs('/proc');
    let clock = 0;
    const resolver = new SocketResolver({ proc, log: () => undefined });
    closers.push(() => resolver.close());
    const software = new CountingContext({ proc, catalog: false, files: false });
    const attr = new Attributor({ resolver, software, processCacheMs: 5000, now: () => clock });
    const flow = new Flow('tcp', 4, '127.0.0.1', client.localPort as number, '127.0.0.1', port, 0, true);
    const pidAt = async (t: number): Promise<number | undefined> => {
      clock = t;
      return (await attr.attribute(flow)).described?.process.pid;
    };

    assert.equal(await pidAt(0), process.pid);
    assert.equal(software.calls, 1);
    assert.equal(await pidAt(1000), process.pid);
    assert.equal(software.calls, 1, 'reused within its life');
    assert.equal(attr.stats.processRefreshes, 0);

    assert.equal(await pidAt(3000), process.pid);
    assert.equal(attr.stats.processRefreshes, 1, 'renewed past half its life');
    await until('the renewal is read', () => software.done === 2);
    await new Promise((r) => setImmediate(r));
    const hits = attr.stats.processCacheHits;
    assert.equal(await pidAt(6000), process.pid, 'past the first description\'s life');
    assert.equal(attr.stats.processCacheHits, hits + 1, 'the renewal (taken at 3000) answers at 6000');
    assert.equal(attr.stats.processRefreshes, 2, 'and is itself renewed past half its life');
    assert.equal(software.calls, 3, 'by the second renewal only');
    await until('the second renewal is read', () => software.done === 3);

    assert.equal(await pidAt(20_000), process.pid);
    assert.equal(software.calls, 4, 'expired: described again before answering');
  });

  it('does not reuse a description taken before the process exec\'d another program (known from the exec watcher)', async function () {
    this.timeout(20_000);
    const { port, client } = await connected();
    const proc = new ProcFs('/proc');
    let clock = 0;
    let lastExec: { event: number; kind: 'exec' | 'fork' } | undefined;
    const resolver = new SocketResolver({ proc, log: () => undefined });
    closers.push(() => resolver.close());
    const software = new CountingContext({ proc, catalog: false, files: false });
    const programs = { last: () => lastExec, get: () => undefined };
    const attr = new Attributor({ resolver, software, processCacheMs: 5000, now: () => clock, programs });
    const flowAt = (t: number) => new Flow('tcp', 4, '127.0.0.1', client.localPort as number, '127.0.0.1', port, t, true);

    clock = 100;
    assert.equal((await attr.attribute(flowAt(100))).described?.process.pid, process.pid);
    assert.equal(software.calls, 1);
    lastExec = { event: 50, kind: 'exec' }; // its exec before the description: still good
    clock = 200;
    await attr.attribute(flowAt(200));
    assert.equal(software.calls, 1, 'reused');
    lastExec = { event: 300, kind: 'exec' }; // an exec after it: another program since
    clock = 400;
    await attr.attribute(flowAt(400));
    assert.equal(software.calls, 2, 'described again');
    assert.equal(attr.stats.staleAfterExec, 1);
    clock = 500;
    await attr.attribute(flowAt(500));
    assert.equal(software.calls, 2, 'the new description is reused');
  });
});

describe('pipeline/Attributor: a process the kernel named, gone with nothing to describe it', () => {
  it('is unattributed, with its pid, uid, traced name and host user name', async () => {
    const tree = new FakeProc();
    try {
      fs.mkdirSync(path.join(tree.root, 'host', 'etc'), { recursive: true });
      fs.writeFileSync(path.join(tree.root, 'host', 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1001:1001::/home/app:/bin/sh\n');
      const proc = new ProcFs(tree.root); // pid 4711 is not in it: gone
      const software = new SoftwareContext({ proc, hostRoot: path.join(tree.root, 'host'), catalog: false, files: false, nameService: false, hosts: false });
      // The resolver's part as the connect tracer gives it: the maker's pid, uid and comm.
      const resolver = {
        probe: () => undefined,
        processAlive: () => false,
        resolve: async (flows: unknown[]) => flows.map(() => ({ inode: 0, uid: 1001, state: 0, hostNetns: true, pid: 4711, method: 'ebpf-connect', comm: 'curl' })),
      } as unknown as SocketResolver;
      const attr = new Attributor({ resolver, software, now: () => Date.now() });
      const flow = new Flow('tcp', 4, '127.0.0.1', 40000, '192.0.2.1', 443, Date.now(), true);
      flow.ended = true; // no second look
      const a = await attr.attribute(flow);
      assert.equal(a.method, 'none');
      assert.equal(a.described, undefined);
      assert.deepEqual(a.gone, { pid: 4711, uid: 1001, name: 'curl', userName: 'app' });
      assert.equal(attr.stats.processGone, 1);
    } finally {
      fs.rmSync(tree.root, { recursive: true, force: true });
    }
  });

  it('the pipeline\'s alert for it: unattributed, host-level, with the pid, name and user', async () => {
    const alerts: any[] = [];
    const gone = { pid: 4711, uid: 1001, name: 'curl', userName: 'app' };
    const attributor = { ...NOBODY, attribute: async () => ({ method: 'none', confidence: 'low', gone }) };
    const p = testPipeline((a) => alerts.push(a), { attributor });
    const syn = ethernet({ type: ETHERTYPE_IPV4 }, ipv4({ src: '10.0.0.5', dst: '203.0.113.44', protocol: 6 }, tcp({ srcPort: 40000, dstPort: 443, flags: TCP_SYN, seq: 9 })));
    p.onPacket(syn, syn.length, syn.length, 1000, 1);
    await p.finish();
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].egresswatch.attribution.attributed, false);
    assert.deepEqual(alerts[0].process, { pid: 4711, name: 'curl' });
    assert.deepEqual(alerts[0].user, { id: '1001', name: 'app' });
    assert.deepEqual(alerts[0].egresswatch.novel_for, ['host']);
  });
});

describe('pipeline/Attributor fallback when the socket is gone', () => {
  it('asks the fallback only when no socket owner is found, and names its process as per-process-dns', async function () {
    this.timeout(20_000);
    const proc = new ProcFs('/proc');
    const resolver = new SocketResolver({ proc, log: () => undefined });
    const software = new CountingContext({ proc, catalog: false, files: false });
    const attr = new Attributor({ resolver, software, now: () => Date.now() });
    try {
      // A 4-tuple no socket has (port 9 on loopback, nothing connected), already ended: no retry.
      const gone = new Flow('tcp', 4, '127.0.0.1', 1, '127.0.0.1', 9, Date.now(), true);
      gone.ended = true;
      let asked = 0;
      const a = await attr.attribute(gone, () => {
        asked++;
        return { pid: process.pid, method: 'per-process-dns', confidence: 'medium' };
      });
      assert.equal(asked, 1);
      assert.equal(a.method, 'per-process-dns');
      assert.equal(a.confidence, 'medium');
      assert.equal(a.described?.process.pid, process.pid);
      assert.equal(attr.stats.attributedByDns, 1);
      assert.equal(attr.stats.unattributed, 0);

      const none = await attr.attribute(gone, () => undefined);
      assert.equal(none.method, 'none', 'no fallback answer: unattributed');
      assert.equal(attr.stats.unattributed, 1);

      // A live socket is attributed by its owner; the fallback is never asked. (The server keeps
      // the connection open: one it closed at once could be gone before it is looked up.)
      const accepted: net.Socket[] = [];
      const server = net.createServer((s) => accepted.push(s));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const port = (server.address() as net.AddressInfo).port;
      const client = net.connect(port, '127.0.0.1');
      await once(client, 'connect');
      try {
        const live = new Flow('tcp', 4, '127.0.0.1', client.localPort as number, '127.0.0.1', port, Date.now(), true);
        const b = await attr.attribute(live, () => {
          asked++;
          return { pid: 1, method: 'per-process-dns', confidence: 'medium' };
        });
        assert.equal(b.method, 'procfs-socket');
        assert.equal(b.described?.process.pid, process.pid);
        assert.equal(asked, 1, 'not asked for a socket that was found');
      } finally {
        client.destroy();
        for (const s of accepted) s.destroy();
        server.close();
      }
    } finally {
      resolver.close();
    }
  });
});
