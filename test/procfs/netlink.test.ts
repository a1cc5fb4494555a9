// The netlink sock_diag addon (native/netlink.c) through SockDiag, against real sockets of this
// process: TCP on 127.0.0.1 and ::1, an IPv4 peer of a dual-stack listener, UDP connected,
// bound and wildcard; a connection inside a network namespace this test creates (seen from
// inside, invisible from here); and the failure paths (addon missing, not an addon, netlink
// refused, errors at run time), after which the resolver still reads /proc/net.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ProcFs, SockDiag, SocketResolver, type NetlinkAddon } from '../../lib/procfs/index.js';
import { REPO_ROOT, haveCommand, isRoot, requirePrereq } from '../helpers/env.js';

const ADDON = path.join(REPO_ROOT, 'native', 'build', 'Release', 'egresswatch_netlink.node');
const TCP_ESTABLISHED = 1;
const TCP_LISTEN = 10;
const UDP_UNCONNECTED = 7;

/** The inode behind one of this process's fds, from /proc/self/fd (the ground truth). */
function ourInodes(): Set<number> {
  const out = new Set<number>();
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`));
      if (m) out.add(Number(m[1]));
    } catch { /* closed meanwhile */ }
  }
  return out;
}

describe('procfs/SockDiag: netlink sock_diag lookups against real sockets', function () {
  const closers: (() => void)[] = [];
  const logs: string[] = [];
  let diag: SockDiag;

  before(function () {
    requirePrereq(this, fs.existsSync(ADDON), `the netlink addon (${ADDON}; npm run build)`);
    const d = SockDiag.open({ log: (m) => logs.push(m) });
    assert.ok(d, `SockDiag.open failed: ${logs.join('; ')}`);
    diag = d;
  });
  after(() => diag?.close());
  afterEach(() => {
    while (closers.length) closers.pop()?.();
  });

  async function pair(listenHost: string, connectHost: string): Promise<{ client: net.Socket; accepted: net.Socket; server: net.Server }> {
    const server = net.createServer().listen({ host: listenHost, port: 0 });
    await once(server, 'listening');
    const acceptedP = once(server, 'connection') as Promise<[net.Socket]>;
    const client = net.connect({ host: connectHost, port: (server.address() as net.AddressInfo).port });
    await once(client, 'connect');
    const [accepted] = await acceptedP;
    closers.push(() => { client.destroy(); accepted.destroy(); server.close(); });
    return { client, accepted, server };
  }

  it('finds both ends of a 127.0.0.1 TCP connection: our inodes, state ESTABLISHED, our uid', async () => {
    const { client } = await pair('127.0.0.1', '127.0.0.1');
    const out = diag.lookup('tcp', '127.0.0.1', client.localPort!, '127.0.0.1', client.remotePort!);
    const back = diag.lookup('tcp', '127.0.0.1', client.remotePort!, '127.0.0.1', client.localPort!);
    assert.ok(out && back);
    const mine = ourInodes();
    assert.ok(mine.has(out.inode) && mine.has(back.inode), `inodes ${out.inode}, ${back.inode} among our fds`);
    assert.notEqual(out.inode, back.inode);
    assert.deepEqual([out.state, out.uid], [TCP_ESTABLISHED, process.getuid!()]);
  });

  it('finds a ::1 TCP connection and an IPv4 peer of a dual-stack [::] listener (asked again as ::ffff:)', async () => {
    const { client } = await pair('::1', '::1');
    const v6 = diag.lookup('tcp', '::1', client.localPort!, '::1', client.remotePort!);
    assert.ok(v6 && ourInodes().has(v6.inode));
    const { accepted } = await pair('::', '127.0.0.1');
    const mapped = diag.lookup('tcp', '127.0.0.1', accepted.localPort!, '127.0.0.1', accepted.remotePort!);
    assert.ok(mapped && ourInodes().has(mapped.inode), 'the accepted AF_INET6 socket');
  });

  it('answers null for a 4-tuple nobody has, and inode 0 or null once the socket is closed', async () => {
    const { client } = await pair('127.0.0.1', '127.0.0.1');
    const [lp, rp] = [client.localPort!, client.remotePort!];
    assert.equal(diag.lookup('tcp', '127.0.0.1', lp, '198.51.100.7', 9), null);
    client.destroy();
    await once(client, 'close');
    const after = diag.lookup('tcp', '127.0.0.1', lp, '127.0.0.1', rp);
    assert.ok(after !== undefined && (after === null || after.inode === 0), `closed socket: ${JSON.stringify(after)}`);
  });

  it('reports a listener for an unknown peer of a listening port (the resolver ignores it)', async () => {
    const { server } = await pair('127.0.0.1', '127.0.0.1');
    const port = (server.address() as net.AddressInfo).port;
    const got = diag.lookup('tcp', '127.0.0.1', port, '127.0.0.1', 9);
    assert.equal(got?.state, TCP_LISTEN);
    const resolver = new SocketResolver({ proc: new ProcFs('/proc') });
    closers.push(() => resolver.close());
    assert.ok(resolver.usesNetlink);
    const [owner] = await resolver.resolve([{ transport: 'tcp', localIp: '127.0.0.1', localPort: port, remoteIp: '127.0.0.1', remotePort: 9 }]);
    assert.equal(owner, undefined);
    assert.equal(resolver.stats.diagListeners, 1);
  });

  it('UDP: a connected socket, one bound to 127.0.0.1, a wildcard one, and one on ::1', async () => {
    const bind = async (type: 'udp4' | 'udp6', host?: string, peer?: [number, string]): Promise<dgram.Socket> => {
      const s = dgram.createSocket(type);
      closers.push(() => s.close());
      s.bind(0, host);
      await once(s, 'listening');
      if (peer) { s.connect(peer[0], peer[1]); await once(s, 'connect'); }
      return s;
    };
    const connected = await bind('udp4', '127.0.0.1', [9, '127.0.0.1']);
    const bound = await bind('udp4', '127.0.0.1');
    const wild = await bind('udp4');
    const six = await bind('udp6', '::1');
    const found = [
      diag.lookup('udp', '127.0.0.1', connected.address().port, '127.0.0.1', 9),
      diag.lookup('udp', '127.0.0.1', bound.address().port, '198.51.100.1', 53),
      diag.lookup('udp', '192.0.2.1', wild.address().port, '198.51.100.1', 53),
      diag.lookup('udp', '::1', six.address().port, '2001:db8::1', 53),
    ];
    const mine = ourInodes();
    for (const f of found) assert.ok(f && mine.has(f.inode), JSON.stringify(found));
    assert.equal(new Set(found.map((f) => f?.inode)).size, 4);
    assert.deepEqual(found.map((f) => f?.state), [TCP_ESTABLISHED, UDP_UNCONNECTED, UDP_UNCONNECTED, UDP_UNCONNECTED]);
    // A connected socket does not answer for another peer.
    assert.equal(diag.lookup('udp', '127.0.0.1', connected.address().port, '127.0.0.1', 10), null);
  });

  it('bad input is a counted miss, never an exception', () => {
    const before = diag.stats.badAddresses;
    assert.equal(diag.lookup('tcp', 'not-an-ip', 1, '::1', 2), undefined);
    assert.equal(diag.stats.badAddresses, before + 1);
    const addon = loadAddon();
    const out = new Uint32Array(3);
    assert.equal(addon.lookup(-1, 4, 6, new Uint8Array(4), 1, new Uint8Array(4), 1, out), -22, 'EINVAL: no fd');
    assert.equal(addon.lookup(0, 4, 6, new Uint8Array(3), 1, new Uint8Array(4), 1, out), -22, 'EINVAL: short address');
    assert.equal(addon.lookup(0, 4, 6, new Uint8Array(4), 70000, new Uint8Array(4), 1, out), -22, 'EINVAL: port');
    assert.ok(addon.close(-1) < 0);
  });

  it('inside a network namespace it created, a child sees its own connection; this namespace does not', async function () {
    requirePrereq(this, isRoot() && haveCommand('ip'), 'root and ip(8) for a test network namespace');
    const ns = `ewdiag${process.pid}`;
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      const script = `
        import('${path.join(REPO_ROOT, 'dist', 'lib', 'procfs', 'netlink.js')}').then(async ({ SockDiag }) => {
          const net = await import('node:net');
          const srv = net.createServer().listen(0, '127.0.0.1', () => {
            const c = net.connect(srv.address().port, '127.0.0.1', () => {
              const d = SockDiag.open({ log: (m) => console.error(m) });
              const got = d.lookup('tcp', '127.0.0.1', c.localPort, '127.0.0.1', c.remotePort);
              console.log(JSON.stringify({ got, lport: c.localPort, rport: c.remotePort }));
              process.exit(0);
            });
          });
        });`;
      const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(r.status, 0, r.stderr);
      const { got, lport, rport } = JSON.parse(r.stdout) as { got: { inode: number; state: number } | null; lport: number; rport: number };
      assert.ok(got && got.inode > 0 && got.state === TCP_ESTABLISHED, r.stdout);
      // The same 4-tuple in our namespace: not there (unless by chance we hold it ourselves).
      const here = diag.lookup('tcp', '127.0.0.1', lport, '127.0.0.1', rport);
      assert.ok(here !== undefined && (here === null || here.inode !== got.inode));
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  });
});

/** The addon itself, to call with arguments SockDiag never passes. */
function loadAddon(): NetlinkAddon {
  const m = { exports: {} as NetlinkAddon };
  process.dlopen(m, ADDON);
  return m.exports;
}

describe('procfs/SockDiag: when netlink cannot be used', () => {
  const ENOENT_PATH = path.join(REPO_ROOT, 'native', 'build', 'Release', 'missing.node');

  it('a missing addon, or a file that is not the addon: undefined and one log line', () => {
    for (const addon of [ENOENT_PATH, path.join(REPO_ROOT, 'package.json')]) {
      const logs: string[] = [];
      assert.equal(SockDiag.open({ addon, log: (m) => logs.push(m) }), undefined);
      assert.equal(logs.length, 1, logs.join('\n'));
      assert.match(logs[0], /netlink sock_diag unavailable .*reading \/proc\/net/);
    }
  });

  it('netlink refused (socket() fails with EACCES): undefined and one log line', () => {
    const logs: string[] = [];
    const refused: NetlinkAddon = { open: () => -13, close: () => 0, lookup: () => -9 };
    assert.equal(SockDiag.open({ addon: refused, log: (m) => logs.push(m) }), undefined);
    assert.deepEqual(logs.length, 1);
    assert.match(logs[0], /errno 13/);
  });

  it('errors at run time are counted misses; after too many in a row it gives up with one line', () => {
    const logs: string[] = [];
    let calls = 0;
    const failing: NetlinkAddon = { open: () => 99, close: () => 0, lookup: () => { calls++; if (calls % 2) throw new Error('boom'); return -5; } };
    const d = SockDiag.open({ addon: failing, log: (m) => logs.push(m), maxConsecutiveErrors: 4 });
    assert.ok(d);
    for (let i = 0; i < 6; i++) assert.equal(d.lookup('tcp', '192.0.2.1', 1000 + i, '198.51.100.1', 443), undefined);
    assert.equal(d.stats.errors, 4);
    assert.equal(d.usable, false);
    assert.equal(logs.length, 1);
    assert.match(logs[0], /4 times in a row/);
  });

  it('a resolver whose netlink fails still finds a real connection through /proc/net', async () => {
    const server = net.createServer().listen({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    const client = net.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port });
    await once(client, 'connect');
    try {
      const failing: NetlinkAddon = { open: () => 99, close: () => 0, lookup: () => -5 };
      const resolver = new SocketResolver({ proc: new ProcFs('/proc'), sockDiag: SockDiag.open({ addon: failing }) });
      const [owner] = await resolver.resolve([{ transport: 'tcp', localIp: '127.0.0.1', localPort: client.localPort!, remoteIp: '127.0.0.1', remotePort: client.remotePort! }]);
      assert.equal(owner?.pid, process.pid);
      assert.ok(resolver.stats.diagErrors >= 1, 'netlink was asked and failed');
      assert.ok(resolver.stats.netReads >= 1, 'read /proc/net/tcp instead');
    } finally {
      client.destroy();
      server.close();
    }
  });
});
