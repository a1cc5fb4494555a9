// Against the real /proc: sockets this test process opens on loopback are found and attributed
// to this process; readProcess describes node itself.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import path from 'node:path';
import { ProcFs, readProcess, SocketResolver, type SocketResolverOptions } from '../../lib/procfs/index.js';
import { identifySoftware } from '../../lib/software/index.js';
import { REPO_ROOT, isRoot, requirePrereq } from '../helpers/env.js';

const ADDON = path.join(REPO_ROOT, 'native', 'build', 'Release', 'egresswatch_netlink.node');

for (const mode of ['netlink', 'proc'] as const) describe(`procfs on the real /proc (host namespace through ${mode === 'netlink' ? 'netlink sock_diag' : '/proc/net'})`, function () {
  const proc = new ProcFs('/proc');
  const mk = (opts: SocketResolverOptions): SocketResolver => {
    const r = new SocketResolver({ ...opts, sockDiag: mode === 'proc' ? false : undefined, log: () => undefined });
    closers.push(() => r.close());
    if (mode === 'netlink') assert.ok(r.usesNetlink, 'netlink sock_diag in use');
    return r;
  };
  const closers: (() => void)[] = [];

  before(function () {
    requirePrereq(this, fs.existsSync('/proc/self/net/tcp'), 'a mounted /proc');
    if (mode === 'netlink') requirePrereq(this, fs.existsSync(ADDON), `the netlink addon (${ADDON}; npm run build)`);
  });
  afterEach(() => {
    while (closers.length) closers.pop()?.();
  });

  async function connectPair(listenHost: string, connectHost: string): Promise<{ client: net.Socket; accepted: net.Socket }> {
    const server = net.createServer();
    server.listen({ host: listenHost, port: 0 });
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const acceptedP = once(server, 'connection') as Promise<[net.Socket]>;
    const client = net.connect({ host: connectHost, port });
    await once(client, 'connect');
    const [accepted] = await acceptedP;
    closers.push(() => { client.destroy(); accepted.destroy(); server.close(); });
    return { client, accepted };
  }

  it('attributes both ends of a 127.0.0.1 TCP connection to this process', async () => {
    const { client } = await connectPair('127.0.0.1', '127.0.0.1');
    const resolver = mk({ proc });
    const flow = { transport: 'tcp' as const, localIp: '127.0.0.1', localPort: client.localPort as number, remoteIp: '127.0.0.1', remotePort: client.remotePort as number };
    const reverse = { ...flow, localPort: flow.remotePort, remotePort: flow.localPort };
    const owners = await resolver.resolve([flow, reverse]);
    assert.equal(owners[0]?.pid, process.pid);
    assert.equal(owners[1]?.pid, process.pid);
    assert.equal(owners[0]?.state, 1, 'ESTABLISHED');
    assert.equal(owners[0]?.uid, process.getuid?.());
    assert.notEqual(owners[0]?.inode, owners[1]?.inode);
    const link = fs.readdirSync(`/proc/${process.pid}/fd`).map((fd) => { try { return fs.readlinkSync(`/proc/${process.pid}/fd/${fd}`); } catch { return ''; } });
    assert.ok(link.includes(`socket:[${owners[0]?.inode}]`), 'inode is one of our fds');
  });

  it('attributes an IPv4 connection accepted by a dual-stack [::] listener (tcp6, ::ffff:127.0.0.1)', async () => {
    const { accepted } = await connectPair('::', '127.0.0.1');
    const resolver = mk({ proc });
    const [owner] = await resolver.resolve([{ transport: 'tcp', localIp: '127.0.0.1', localPort: accepted.localPort as number, remoteIp: '127.0.0.1', remotePort: accepted.remotePort as number }]);
    assert.equal(owner?.pid, process.pid);
    if (mode === 'proc') assert.equal(resolver.stats.netReads, 2, 'tcp had no exact match, tcp6 did');
    else assert.deepEqual([resolver.stats.netReads, resolver.stats.diagHits], [0, 1], 'sock_diag found it (as ::ffff:127.0.0.1), no table read');
  });

  it('attributes a ::1 TCP connection and an unconnected UDP socket', async () => {
    const { client } = await connectPair('::1', '::1');
    const sock = dgram.createSocket('udp4');
    sock.bind(0, '127.0.0.1');
    await once(sock, 'listening');
    closers.push(() => sock.close());
    const resolver = mk({ proc });
    const owners = await resolver.resolve([
      { transport: 'tcp', localIp: '::1', localPort: client.localPort as number, remoteIp: '::1', remotePort: client.remotePort as number },
      { transport: 'udp', localIp: '127.0.0.1', localPort: sock.address().port, remoteIp: '127.0.0.1', remotePort: 9 },
    ]);
    assert.deepEqual(owners.map((o) => o?.pid), [process.pid, process.pid]);
  });

  it('readProcess describes this node process', async function () {
    requirePrereq(this, isRoot(), 'running as root (user name root)');
    const info = await readProcess(proc, process.pid);
    assert.ok(info);
    assert.equal(info.pid, process.pid);
    assert.equal(info.ppid, process.ppid);
    assert.equal(info.exe, fs.realpathSync(process.execPath));
    assert.equal(info.uid, 0);
    assert.equal(info.userName, 'root');
    assert.equal(info.cwd, fs.realpathSync(process.cwd()));
    // argv[1] is resolved by node, so compare the arguments after the script, and the script by name.
    const tail = process.argv.slice(2);
    assert.deepEqual(info.argv.slice(info.argv.length - tail.length), tail);
    assert.ok(info.commandLine.includes(process.argv[1].split('/').pop() as string), info.commandLine);
    const started = Date.parse(info.startTime ?? '');
    assert.ok(Math.abs(started - (Date.now() - process.uptime() * 1000)) < 5000, `startTime ${info.startTime}`);
    assert.equal(info.parent?.pid, process.ppid);
  });

  it('attributes a connection made by a child process to the child, then undefined once it has exited', async () => {
    const server = net.createServer();
    server.listen({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const acceptedP = once(server, 'connection') as Promise<[net.Socket]>;
    const code = `require('net').connect(${port}, '127.0.0.1'); setTimeout(() => {}, 20000)`;
    const child = spawn(process.execPath, ['-e', code], { stdio: 'ignore', cwd: '/tmp' });
    closers.push(() => { child.kill('SIGKILL'); server.close(); });
    const [accepted] = await acceptedP;
    closers.push(() => accepted.destroy());
    const resolver = mk({ proc, minFullScanIntervalMs: 0 });
    const flow = { transport: 'tcp' as const, localIp: '127.0.0.1', localPort: accepted.remotePort as number, remoteIp: '127.0.0.1', remotePort: port };
    const [owner] = await resolver.resolve([flow]);
    assert.equal(owner?.pid, child.pid);
    const info = await readProcess(proc, child.pid as number);
    assert.equal(info?.ppid, process.pid);
    assert.equal(info?.parent?.exe, fs.realpathSync(process.execPath));
    assert.deepEqual(identifySoftware({ exe: info?.exe, argv: info?.argv ?? [], cwd: info?.cwd }), { id: 'node -e', kind: 'inline', interpreter: fs.realpathSync(process.execPath) });
    child.kill('SIGKILL');
    await once(child, 'exit');
    assert.equal(await readProcess(proc, child.pid as number), undefined);
    const [after] = await resolver.resolve([flow]);
    assert.equal(after?.pid, undefined);
  });

  it("attributes a socket a shell script made to the script's shell, not to the commands that inherited it", async () => {
    const server = net.createServer();
    server.listen({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const acceptedP = once(server, 'connection') as Promise<[net.Socket]>;
    // A resolver that has listed the pids before the script starts, as the agent's has: the
    // script and its commands are new pids then, searched newest first (a command first).
    const resolver = mk({ proc, minFullScanIntervalMs: 0 });
    const { client } = await connectPair('127.0.0.1', '127.0.0.1');
    assert.equal((await resolver.resolve([{ transport: 'tcp', localIp: '127.0.0.1', localPort: client.localPort as number, remoteIp: '127.0.0.1', remotePort: client.remotePort as number }]))[0]?.pid, process.pid);
    // bash connects (fd 3), then starts two commands that inherit fd 3, as `cat <&3 | wc` does.
    const script = `exec 3<>/dev/tcp/127.0.0.1/${port}; sleep 20 & sleep 20 & echo started; wait`;
    const shell = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'], cwd: '/tmp' });
    closers.push(() => { shell.kill('SIGKILL'); server.close(); });
    const [accepted] = await acceptedP;
    closers.push(() => accepted.destroy());
    await once(shell.stdout, 'data');
    const children = fs.readFileSync(`/proc/${shell.pid}/task/${shell.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    closers.push(() => { for (const c of children) { try { process.kill(c, 'SIGKILL'); } catch { /* gone */ } } });
    assert.equal(children.length, 2, 'two children');
    for (const c of children) assert.ok(fs.readdirSync(`/proc/${c}/fd`).some((fd) => fs.readlinkSync(`/proc/${c}/fd/${fd}`).startsWith('socket:')), `child ${c} holds the socket`);
    const [owner] = await resolver.resolve([{ transport: 'tcp', localIp: '127.0.0.1', localPort: accepted.remotePort as number, remoteIp: '127.0.0.1', remotePort: port }]);
    assert.equal(owner?.pid, shell.pid, `the shell (${shell.pid}), not a child (${children.join(', ')})`);
  });
});
