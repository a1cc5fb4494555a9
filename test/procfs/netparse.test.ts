import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseProcNet, type SocketEntry } from '../../lib/procfs/index.js';
import { formatIPv6, normaliseIp } from '../../lib/procfs/address.js';
import { FIXTURES_DIR } from '../helpers/env.js';

const REAL = path.join(FIXTURES_DIR, 'procfs', 'real');
const HAND = path.join(FIXTURES_DIR, 'procfs', 'handwritten');
const read = (dir: string, name: string): string => fs.readFileSync(path.join(dir, name), 'utf8');

function has(entries: SocketEntry[], want: Partial<SocketEntry>): SocketEntry | undefined {
  return entries.find((e) => Object.entries(want).every(([k, v]) => e[k as keyof SocketEntry] === v));
}

describe('procfs/parseProcNet on text captured from this machine', () => {
  // Captured by test/procfs/capture-fixtures.ts with these sockets open (x86-64, little-endian).
  const expected = JSON.parse(read(REAL, 'expected.json'));
  const tcp = parseProcNet(read(REAL, 'tcp'), 4, { littleEndian: true });
  const tcp6 = parseProcNet(read(REAL, 'tcp6'), 6, { littleEndian: true });
  const udp = parseProcNet(read(REAL, 'udp'), 4, { littleEndian: true });
  const udp6 = parseProcNet(read(REAL, 'udp6'), 6, { littleEndian: true });

  it('finds the IPv4 and IPv6 listeners (state 0A LISTEN) with the capturing uid', () => {
    for (const [list, l] of [[tcp, expected.tcpListen4], [tcp6, expected.tcpListen6], [tcp6, expected.tcpListenDual]] as const) {
      const e = has(list, { localIp: l.ip, localPort: l.port, remoteIp: list === tcp ? '0.0.0.0' : '::', remotePort: 0, state: 10 });
      assert.ok(e, `listener ${l.ip}:${l.port}`);
      assert.equal(e.uid, expected.uid);
      assert.ok(e.inode > 0);
    }
  });

  it('finds both ends of the established IPv4 and IPv6 connections', () => {
    for (const [list, c] of [[tcp, expected.tcpClient4], [tcp6, expected.tcpClient6]] as const) {
      const client = has(list, { ...c, state: 1 });
      const server = has(list, { localIp: c.remoteIp, localPort: c.remotePort, remoteIp: c.localIp, remotePort: c.localPort, state: 1 });
      assert.ok(client && server, `${c.localIp} ${c.localPort}`);
      assert.notEqual(client.inode, server.inode);
    }
  });

  it('reports the dual-stack accepted socket as IPv4-mapped, as-is', () => {
    assert.ok(has(tcp6, { ...expected.tcpAcceptedMapped, state: 1 }));
  });

  it('finds the unconnected UDP sockets (state 07)', () => {
    assert.ok(has(udp, { localIp: expected.udp4.ip, localPort: expected.udp4.port, remotePort: 0, state: 7 }));
    assert.ok(has(udp6, { localIp: expected.udp6.ip, localPort: expected.udp6.port, remoteIp: '::', state: 7 }));
  });

  it('parses every line of the captured files', () => {
    for (const name of ['tcp', 'tcp6', 'udp', 'udp6']) {
      const stats = { lines: 0, badLines: 0 };
      parseProcNet(read(REAL, name), name.endsWith('6') ? 6 : 4, { littleEndian: true, stats });
      assert.equal(stats.badLines, 0, name);
      assert.equal(stats.lines, read(REAL, name).trim().split('\n').length - 1, name);
    }
  });
});

describe('procfs/parseProcNet on hand-written text', () => {
  it('decodes IPv4-mapped and documentation IPv6 addresses, skipping and counting bad lines', () => {
    const stats = { lines: 0, badLines: 0 };
    const tcp6 = parseProcNet(read(HAND, 'tcp6'), 6, { littleEndian: true, stats });
    assert.deepEqual(tcp6, [
      { localIp: '::ffff:192.0.2.10', localPort: 42000, remoteIp: '::ffff:203.0.113.5', remotePort: 443, state: 1, uid: 1000, inode: 5001 },
      { localIp: '2001:db8::1', localPort: 50000, remoteIp: '2001:db8::2', remotePort: 80, state: 2, uid: 0, inode: 5002 },
    ]);
    assert.deepEqual(stats, { lines: 5, badLines: 3 });
  });

  it('decodes IPv4 words in host order, and big-endian text when told so', () => {
    const [first] = parseProcNet(read(HAND, 'udp'), 4, { littleEndian: true }).slice(1);
    assert.deepEqual(first, { localIp: '192.0.2.10', localPort: 5353, remoteIp: '203.0.113.5', remotePort: 53, state: 1, uid: 102, inode: 7002 });
    const be = parseProcNet('  sl local\n   0: C000020A:0050 CB007105:01BB 01 0:0 0:0 0 5 0 42\n', 4, { littleEndian: false });
    assert.deepEqual(be, [{ localIp: '192.0.2.10', localPort: 80, remoteIp: '203.0.113.5', remotePort: 443, state: 1, uid: 5, inode: 42 }]);
  });

  it('never throws on junk and returns nothing for it', () => {
    for (const junk of ['', '\n\n', 'sl', '0: :', '0: 0100007F:0016 0100007F', '0: 0100007F:10000 00000000:0000 0A 0 0 0 0 0 1', '\0\xff']) {
      assert.deepEqual(parseProcNet(junk, 4), []);
      assert.deepEqual(parseProcNet(junk, 6), []);
    }
    // Wrong family for the text: IPv4 addresses in a "6" parse are rejected, not misread.
    assert.deepEqual(parseProcNet(read(HAND, 'tcp'), 6), []);
  });
});

describe('procfs/address normalisation', () => {
  it('compresses IPv6 per RFC 5952 and normalises flow text to the same form', () => {
    const b = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
    assert.equal(formatIPv6(b('20010db8000000000001000000000001')), '2001:db8::1:0:0:1'); // equal runs: the first is compressed
    assert.equal(formatIPv6(b('20010db8000000010000000000000001')), '2001:db8:0:1::1');
    assert.equal(formatIPv6(b('00000000000000000000000000000000')), '::');
    assert.equal(formatIPv6(b('20010db8000100010001000100010001')), '2001:db8:1:1:1:1:1:1');
    assert.equal(normaliseIp('2001:0DB8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
    assert.equal(normaliseIp('::FFFF:192.0.2.1'), '::ffff:192.0.2.1');
    assert.equal(normaliseIp('192.0.2.1'), '192.0.2.1');
    assert.equal(normaliseIp('not-an-ip'), undefined);
  });
});
