// Captures this machine's /proc/net/{tcp,tcp6,udp,udp6} into test/fixtures/procfs/real/ while
// known loopback sockets are open, and records those sockets in expected.json.
// Run on purpose only: `node dist/test/procfs/capture-fixtures.js` (not a test file).
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import os from 'node:os';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { once } from 'node:events';
import { FIXTURES_DIR } from '../helpers/env.js';

const OUT = path.join(FIXTURES_DIR, 'procfs', 'real');

async function listen(host: string, port: number, ipv6Only = false): Promise<net.Server> {
  const server = net.createServer((sock) => sock.on('error', () => undefined));
  server.listen({ host, port, ipv6Only });
  await once(server, 'listening');
  return server;
}

async function connect(host: string, port: number): Promise<net.Socket> {
  const sock = net.connect({ host, port });
  await once(sock, 'connect');
  return sock;
}

async function udp(type: 'udp4' | 'udp6', host: string, port: number): Promise<dgram.Socket> {
  const s = dgram.createSocket(type);
  s.bind(port, host);
  await once(s, 'listening');
  return s;
}

async function main(): Promise<void> {
  const servers = [await listen('127.0.0.1', 47231), await listen('::1', 47232), await listen('::', 47235)];
  const c4 = await connect('127.0.0.1', 47231);
  const c6 = await connect('::1', 47232);
  const cMapped = await connect('127.0.0.1', 47235); // accepted side shows ::ffff:127.0.0.1 in tcp6
  const u4 = await udp('udp4', '127.0.0.1', 47233);
  const u6 = await udp('udp6', '::1', 47234);
  fs.mkdirSync(OUT, { recursive: true });
  for (const name of ['tcp', 'tcp6', 'udp', 'udp6']) {
    // copyFile sees size 0 on procfs and copies nothing; read to EOF instead.
    fs.writeFileSync(path.join(OUT, name), fs.readFileSync(`/proc/net/${name}`));
  }
  const expected = {
    tcpListen4: { ip: '127.0.0.1', port: 47231 },
    tcpListen6: { ip: '::1', port: 47232 },
    tcpListenDual: { ip: '::', port: 47235 },
    tcpClient4: { localIp: '127.0.0.1', localPort: c4.localPort, remoteIp: '127.0.0.1', remotePort: 47231 },
    tcpClient6: { localIp: '::1', localPort: c6.localPort, remoteIp: '::1', remotePort: 47232 },
    tcpAcceptedMapped: { localIp: '::ffff:127.0.0.1', localPort: 47235, remoteIp: '::ffff:127.0.0.1', remotePort: cMapped.localPort },
    udp4: { ip: '127.0.0.1', port: 47233 },
    udp6: { ip: '::1', port: 47234 },
    uid: process.getuid?.() ?? 0,
    capturedAt: new Date().toISOString(),
  };
  fs.writeFileSync(path.join(OUT, 'expected.json'), JSON.stringify(expected, null, 2) + '\n');
  for (const s of [c4, c6, cMapped]) s.destroy();
  u4.close();
  u6.close();
  for (const s of servers) s.close();
  await captureProcess();
  console.log(`wrote ${OUT}`);
}

/** stat/status/cmdline of a process whose comm holds a space and ')' (an exe named "we ird) x"). */
async function captureProcess(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-capture-'));
  const link = path.join(dir, 'we ird) x');
  fs.symlinkSync('/bin/sleep', link);
  const child = spawn(link, ['30'], { stdio: 'ignore' });
  await once(child, 'spawn');
  await new Promise((r) => setTimeout(r, 200)); // let exec complete so comm is the new name
  const dest = path.join(OUT, 'process');
  fs.mkdirSync(dest, { recursive: true });
  for (const name of ['stat', 'status', 'cmdline']) {
    fs.writeFileSync(path.join(dest, name), fs.readFileSync(`/proc/${child.pid}/${name}`));
  }
  fs.writeFileSync(path.join(dest, 'expected.json'), JSON.stringify({ pid: child.pid, ppid: process.pid, comm: 'we ird) x', argv: [link, '30'], uid: process.getuid?.() ?? 0 }, null, 2) + '\n');
  child.kill();
  fs.rmSync(dir, { recursive: true, force: true });
}

await main();
