// Real network namespaces: a namespace with its own loopback and a veth pair to the root
// namespace (a /30 from 198.51.100.0/24 chosen at random above .160, clear of the integration
// harness's 198.51.100.0/30). A python process inside connects to itself over the namespace's
// loopback and to a server of this test over the veth; resolve() from the root /proc must name
// that process with hostNetns false, and this process's end with hostNetns true.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import { ProcFs, SocketResolver, type FlowEnds } from '../../lib/procfs/index.js';
import { haveCommand, isRoot, requirePrereq } from '../helpers/env.js';

const CLIENT = `
import os, socket, sys, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(4)
c = socket.create_connection(('127.0.0.1', s.getsockname()[1])); a, _ = s.accept()
v = socket.create_connection((sys.argv[1], int(sys.argv[2])))
print(c.getsockname()[1], s.getsockname()[1], v.getsockname()[1], os.getpid(), flush=True)
time.sleep(30)
`;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'ignore', timeout: 10000 });
}

/** The child's first stdout line (a pipe may deliver it in pieces), or a rejection after 10 s. */
function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`namespace client did not start: ${JSON.stringify(text)}`)), 10000);
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (!text.includes('\n')) return;
      clearTimeout(timer);
      resolve(text.slice(0, text.indexOf('\n')));
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`namespace client exited (${code})`)); });
  });
}

function nsInode(pid: number | string): number {
  return Number(/net:\[(\d+)\]/.exec(fs.readlinkSync(`/proc/${pid}/ns/net`))?.[1]);
}

describe('procfs/SocketResolver in a real network namespace', function () {
  this.timeout(30000);
  const sfx = randomBytes(3).toString('hex');
  const ns = `ewtest-${sfx}`;
  const hostIf = `ewth${sfx}`;
  const base = 160 + 4 * (randomBytes(1)[0] % 16);
  const hostAddr = `198.51.100.${base + 1}`;
  const nsAddr = `198.51.100.${base + 2}`;
  let created = false;
  let child: ChildProcess | undefined;
  let server: net.Server | undefined;
  let accepted: net.Socket | undefined;
  let ports: { client: number; listen: number; veth: number; pid: number };

  before(async function () {
    requirePrereq(this, isRoot() && haveCommand('ip') && haveCommand('python3'), 'root, ip and python3 to create a network namespace');
    ip('netns', 'add', ns);
    created = true;
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'ewtn0', 'netns', ns);
    ip('addr', 'add', `${hostAddr}/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    ip('-n', ns, 'addr', 'add', `${nsAddr}/30`, 'dev', 'ewtn0');
    ip('-n', ns, 'link', 'set', 'ewtn0', 'up');
    server = net.createServer((s) => { accepted = s; s.on('error', () => undefined); });
    server.listen({ host: hostAddr, port: 0 });
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    child = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', CLIENT, hostAddr, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await firstLine(child);
    const [client, listen, veth, pid] = line.trim().split(/\s+/).map(Number);
    ports = { client, listen, veth, pid };
    for (let i = 0; i < 100 && !accepted; i++) await new Promise((r) => setTimeout(r, 20));
  });

  after(() => {
    child?.kill('SIGKILL');
    accepted?.destroy();
    server?.close();
    if (!created) return;
    // Deleting the namespace removes its veth end and with it the host's.
    try { ip('link', 'del', hostIf); } catch { /* already gone with the namespace */ }
    ip('netns', 'del', ns);
  });

  it('attributes a loopback connection inside the namespace to its process, hostNetns false', async () => {
    assert.equal(ports.pid, child?.pid, 'ip netns exec runs python in the same pid');
    const resolver = new SocketResolver({ proc: new ProcFs('/proc') });
    const flow: FlowEnds = { transport: 'tcp', localIp: '127.0.0.1', localPort: ports.client, remoteIp: '127.0.0.1', remotePort: ports.listen };
    const [owner] = await resolver.resolve([flow]);
    assert.equal(owner?.pid, ports.pid);
    assert.equal(owner?.hostNetns, false);
    assert.equal(owner?.netns, nsInode(ports.pid));
    assert.notEqual(owner?.netns, nsInode('self'));
    assert.equal(owner?.method, 'procfs-socket');
  });

  it('attributes both ends of a veth connection: the namespace client and this process in the host namespace', async () => {
    assert.ok(accepted, 'the namespace client reached the host server');
    const resolver = new SocketResolver({ proc: new ProcFs('/proc') });
    const port = (server?.address() as net.AddressInfo).port;
    const owners = await resolver.resolve([
      { transport: 'tcp', localIp: nsAddr, localPort: ports.veth, remoteIp: hostAddr, remotePort: port },
      { transport: 'tcp', localIp: hostAddr, localPort: port, remoteIp: nsAddr, remotePort: ports.veth },
      { transport: 'tcp', localIp: nsAddr, localPort: ports.veth + 1, remoteIp: hostAddr, remotePort: port },
    ]);
    assert.deepEqual(owners.slice(0, 2).map((o) => [o?.pid, o?.hostNetns]), [[ports.pid, false], [process.pid, true]]);
    assert.equal(owners[1]?.netns, nsInode('self'));
    assert.equal(owners[2], undefined, 'a 4-tuple nobody has');
    assert.equal(resolver.stats.otherNetnsHits, 1);
  });
});
