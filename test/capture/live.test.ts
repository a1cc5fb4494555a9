// Live capture on loopback (root or CAP_NET_RAW + CAP_NET_ADMIN). Traffic goes to 127.0.0.1 only,
// except in the last block: between this namespace and one the test makes.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { CaptureError, LiveCapture, buildBpfFilter, interfaceNames } from '../../lib/capture/index.js';
import { DecodeStats, PacketInfo, decodePacket } from '../../lib/decode/index.js';
import { haveCommand, isRoot, requirePrereq } from '../helpers/env.js';
import { agentCaptureFilter } from '../../lib/pipeline/capture-filter.js';
import { inNs, ip } from '../integration/netns.js';

interface Seen { proto: number; sport: number; dport: number; flags: number; payload: string; linkType: number; handle?: number }

function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) resolve();
      else if (Date.now() > end) reject(new Error(`condition not met in ${ms} ms`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

async function tcpRoundTrip(message: string, port = 0): Promise<{ clientPort: number; serverPort: number }> {
  const server = net.createServer((s) => s.on('data', () => s.end()));
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const serverPort = (server.address() as net.AddressInfo).port;
  const client = net.connect(serverPort, '127.0.0.1');
  await new Promise<void>((r) => client.on('connect', r));
  const clientPort = client.localPort ?? 0;
  client.write(message);
  await new Promise<void>((r) => client.on('close', () => r()).resume());
  await new Promise<void>((r) => server.close(() => r()));
  return { clientPort, serverPort };
}

/** A TCP port nothing listens on now (the kernel's pick, released at once). */
async function freeTcpPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function sendUdp(message: string, port: number): Promise<void> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.send(message, port, '127.0.0.1', () => r()));
  s.close();
}

for (const iface of ['lo', 'any']) {
  describe(`capture: live on ${iface}`, function () {
    this.timeout(15000);
    let capture: LiveCapture | undefined;
    const seen: Seen[] = [];
    const stats = new DecodeStats();
    const out = new PacketInfo();

    /**
     * The agent's filter drops loopback traffic other than DNS: the test's port is given as a
     * DNS port (as --dns-port would), so its loopback traffic is kept; port 7 (echo) is not.
     */
    let port = 0;

    before(async function () {
      requirePrereq(this, isRoot(), 'root (or CAP_NET_RAW + CAP_NET_ADMIN) for live capture');
      port = await freeTcpPort();
      capture = LiveCapture.open({ interfaces: [iface], filter: buildBpfFilter([53, port]), bufferBytes: 4 << 20, snapLength: 65535, immediate: true },
        (buf, caplen, wireLen, _ts, linkType, handle) => {
          if (!decodePacket(linkType, buf, caplen, out, stats, wireLen)) return;
          seen.push({ proto: out.protocol, sport: out.srcPort, dport: out.dstPort, flags: out.tcpFlags, linkType, handle,
            payload: buf.toString('latin1', out.payloadOffset, out.payloadOffset + out.payloadLength) });
        });
    });

    after(async () => {
      if (!capture) return;
      capture.close();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('libpcap handles not freed after close()')), 3000); });
      await Promise.race([capture.closed, timeout]).finally(() => clearTimeout(timer));
    });

    it('sees a UDP datagram and a TCP connection to 127.0.0.1 on a DNS port, decoded; other loopback traffic is filtered out', async () => {
      const tag = `ewtest-${process.pid}-${iface}`;
      await sendUdp(`${tag}-filtered`, 7);
      await sendUdp(tag, port);
      const { clientPort, serverPort } = await tcpRoundTrip(tag, port);
      await until(() => seen.some((s) => s.proto === 17 && s.payload === tag) &&
        seen.some((s) => s.proto === 6 && s.payload === tag), 5000);
      assert.ok(seen.some((s) => s.proto === 6 && s.sport === clientPort && s.dport === serverPort && s.flags === 0x02), 'the SYN');
      assert.ok(seen.some((s) => s.proto === 6 && s.sport === serverPort && (s.flags & 0x12) === 0x12), 'the SYN-ACK');
      assert.ok(seen.some((s) => s.proto === 17 && s.dport === port));
      assert.ok(!seen.some((s) => s.dport === 7 || s.payload === `${tag}-filtered`), 'loopback traffic off the DNS ports is not captured');
      assert.equal(seen[0].linkType, iface === 'any' ? 113 : 1);
      assert.ok(seen.every((x) => x.handle === undefined), 'one interface: packets carry no handle');
      assert.equal(stats.totalErrors(), 0, JSON.stringify(stats.errors));
    });

    it('stats() reports the interface and what libpcap received', () => {
      const s = capture?.stats() ?? [];
      assert.equal(s.length, 1);
      assert.equal(s[0].interface, iface);
      assert.ok(s[0].received >= 4, JSON.stringify(s));
      assert.ok(s[0].delivered >= 4);
      assert.equal(s[0].callbackErrors, 0);
      assert.ok(s[0].dropped >= 0 && s[0].ifDropped >= 0);
    });

    it('the filter runs in the kernel (a BPF program is attached to our packet socket)', function () {
      requirePrereq(this, haveCommand('ss'), 'ss (iproute2)');
      const text = execFileSync('ss', ['-0', '-b', '-p'], { encoding: 'utf8' });
      const ours = text.split('\n').findIndex((l) => l.includes(`pid=${process.pid},`));
      assert.ok(ours >= 0, 'our packet socket is listed');
      assert.match(text.split('\n').slice(ours, ours + 2).join('\n'), /bpf filter \(\d+\)/);
    });
  });
}

describe('capture: live on lo and any at once', function () {
  this.timeout(15000);
  let capture: LiveCapture | undefined;
  const seen: Seen[] = [];
  const out = new PacketInfo();
  const stats = new DecodeStats();

  after(async () => {
    if (!capture) return;
    capture.close();
    await capture.closed;
  });

  it('says which interface each packet came from: one packet on lo is delivered by both, each with its handle', async function () {
    requirePrereq(this, isRoot(), 'root (or CAP_NET_RAW + CAP_NET_ADMIN) for live capture');
    const port = await freeTcpPort();
    capture = LiveCapture.open({ interfaces: ['lo', 'any'], filter: buildBpfFilter([port]), bufferBytes: 4 << 20, snapLength: 65535, immediate: true },
      (buf, caplen, wireLen, _ts, linkType, handle) => {
        if (!decodePacket(linkType, buf, caplen, out, stats, wireLen)) return;
        seen.push({ proto: out.protocol, sport: out.srcPort, dport: out.dstPort, flags: out.tcpFlags, linkType, handle,
          payload: buf.toString('latin1', out.payloadOffset, out.payloadOffset + out.payloadLength) });
      });
    const tag = `ewtest-${process.pid}-two`;
    await sendUdp(tag, port);
    await until(() => seen.filter((x) => x.payload === tag).length >= 2, 5000);
    const ours = seen.filter((x) => x.payload === tag);
    assert.deepEqual(ours.map((x) => [x.handle, x.linkType]).sort(), [[0, 1], [1, 113]], 'lo (Ethernet) is handle 0, any (cooked) handle 1');
  });
});

describe('capture: live open errors and interface list', () => {
  it('an unknown interface is a CaptureError naming it and the fix', function () {
    requirePrereq(this, isRoot(), 'root for live capture');
    assert.throws(() => LiveCapture.open({ interfaces: ['ewnosuch0'], filter: '', bufferBytes: 1 << 20, snapLength: 65535, immediate: true }, () => undefined),
      (e: unknown) => e instanceof CaptureError && e.message.startsWith('cannot capture on interface ewnosuch0:') && /\(.+\)$/.test(e.message));
  });

  it('bad options fail before libpcap is asked', () => {
    assert.throws(() => LiveCapture.open({ interfaces: [], filter: '', bufferBytes: 1, snapLength: 65535, immediate: true }, () => undefined), /interface/);
    assert.throws(() => LiveCapture.open({ interfaces: ['lo'], filter: '', bufferBytes: 1 << 20, snapLength: 10, immediate: true }, () => undefined), /snap length/);
  });

  it('interfaceNames() lists lo and any', () => {
    const names = interfaceNames();
    assert.ok(names.includes('lo') && names.includes('any'), names.join(','));
  });
});

// The agent's own filter (pipeline/capture-filter.ts) attached in the kernel on `any`: between
// this namespace and one of the test's own over a veth with private addresses, datagrams off the
// DNS and proxy ports never reach libpcap; DNS, a proxy's port and an external address do. The
// "external" address is a documentation one on the veth's root end; nothing leaves the pair.
describe('capture: live on any with the agent\'s filter (traffic between internal addresses left in the kernel)', function () {
  this.timeout(20000);
  const sfx = randomBytes(2).toString('hex');
  const ns = `ewcf-${sfx}`;
  const rootIf = `ewcfa-${sfx}`;
  const nsIf = `ewcfb-${sfx}`;
  let capture: LiveCapture | undefined;
  let made = false;
  const payloads: string[] = [];
  const stats = new DecodeStats();
  const out = new PacketInfo();

  before(function () {
    requirePrereq(this, isRoot() && haveCommand('ip') && haveCommand('python3'), 'root, ip and python3 for a namespace of the test\'s own');
    ip('netns', 'add', ns);
    made = true;
    ip('link', 'add', rootIf, 'type', 'veth', 'peer', 'name', nsIf);
    ip('link', 'set', nsIf, 'netns', ns);
    ip('addr', 'add', '10.213.7.1/30', 'dev', rootIf);
    ip('addr', 'add', '203.0.113.77/32', 'dev', rootIf);
    ip('link', 'set', rootIf, 'up');
    ip(...inNs(ns, 'ip', 'link', 'set', 'lo', 'up'));
    ip(...inNs(ns, 'ip', 'addr', 'add', '10.213.7.2/30', 'dev', nsIf));
    ip(...inNs(ns, 'ip', 'link', 'set', nsIf, 'up'));
    ip(...inNs(ns, 'ip', 'route', 'add', '203.0.113.77/32', 'dev', nsIf));
    const filter = agentCaptureFilter({ dnsPorts: [53], internalCidrs: [], externalCidrs: [], proxies: [] });
    capture = LiveCapture.open({ interfaces: ['any'], filter, bufferBytes: 4 << 20, snapLength: 65535, immediate: true },
      (buf, caplen, wireLen, _ts, linkType) => {
        if (decodePacket(linkType, buf, caplen, out, stats, wireLen) && out.protocol === 17) {
          payloads.push(buf.toString('latin1', out.payloadOffset, out.payloadOffset + out.payloadLength));
        }
      });
  });

  after(async () => {
    if (capture) {
      capture.close();
      await capture.closed;
    }
    if (made) spawnSync('ip', ['netns', 'del', ns]); // takes the veth pair with it
    assert.equal(spawnSync('ip', ['link', 'show', rootIf]).status !== 0, true, `${rootIf} removed`);
  });

  it('drops datagrams between two private addresses, keeps DNS, the proxy ports and an external peer', async () => {
    const tag = `ewcf-${process.pid}-${sfx}`;
    const sends: [string, string, number][] = [
      ['internal', '10.213.7.1', 40123], ['dns', '10.213.7.1', 53], ['proxy', '10.213.7.1', 3128], ['external', '203.0.113.77', 40123],
    ];
    const code = `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor name, addr, port in ${JSON.stringify(sends)}:\n    s.sendto(("${tag}-" + name).encode(), (addr, port))\n`;
    // Twice, a second apart: whatever the first round left in flight is in by the end of the second.
    for (let round = 0; round < 2; round++) {
      const r = spawnSync('ip', inNs(ns, 'python3', '-c', code), { encoding: 'utf8', timeout: 10_000 });
      assert.equal(r.status, 0, r.stderr);
      await until(() => ['dns', 'proxy', 'external'].every((n) => payloads.filter((p) => p === `${tag}-${n}`).length > round), 5000);
    }
    assert.equal(payloads.filter((p) => p === `${tag}-internal`).length, 0, `captured: ${payloads.filter((p) => p.startsWith(tag)).join(', ')}`);
    // Left out by the kernel, not by libpcap after copying: a packet the kernel's filter passes
    // counts as received; one libpcap's own filter drops is received and never delivered.
    const settled = (): boolean => {
      const [st] = capture?.stats() ?? [];
      return st !== undefined && st.received === st.delivered;
    };
    await until(settled, 3000).catch(() => assert.fail(`received != delivered: ${JSON.stringify(capture?.stats())} (filtered in user space?)`));
  });
});
