// pcapng files whose interfaces differ in link type (Wireshark on several interfaces,
// mergecap of captures of different link types): libpcap stops at the second interface's
// block; replayFile reads on with lib/capture/pcapng.ts. Files made two ways: by mergecap from
// corpus captures (checked against tshark), and by a block writer here (byte orders, sections,
// timestamp resolutions, a block cut short).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { replayFile } from '../../lib/capture/index.js';
import { loadConfig } from '../../lib/config/index.js';
import { runReplay } from '../../lib/pipeline/index.js';
import { DecodeStats, PacketInfo, decodePacket } from '../../lib/decode/index.js';
import { corpusFile, haveCommand, requirePrereq } from '../helpers/env.js';
import { ETHERTYPE_IPV4, ethernet, ipv4, udp } from '../helpers/packets.js';
import { pcapngBlock, words } from '../helpers/capture-readers.js';

function shb(le: boolean): Buffer {
  const body = Buffer.alloc(16);
  if (le) { body.writeUInt32LE(0x1a2b3c4d, 0); body.writeUInt16LE(1, 4); } else { body.writeUInt32BE(0x1a2b3c4d, 0); body.writeUInt16BE(1, 4); }
  body.fill(0xff, 8, 16); // section length: unknown
  const b = pcapngBlock(le, 0x0a0d0d0a, body);
  b.writeUInt32LE(0x0a0d0d0a, 0); // the same in either order
  return b;
}

/** An interface: link type, snap length, and if_tsresol when given. */
function idb(le: boolean, linkType: number, tsresol?: number): Buffer {
  const head = Buffer.alloc(8);
  if (le) { head.writeUInt16LE(linkType, 0); head.writeUInt32LE(65535, 4); } else { head.writeUInt16BE(linkType, 0); head.writeUInt32BE(65535, 4); }
  const opts: Buffer[] = [];
  if (tsresol !== undefined) {
    const o = Buffer.alloc(8);
    if (le) { o.writeUInt16LE(9, 0); o.writeUInt16LE(1, 2); } else { o.writeUInt16BE(9, 0); o.writeUInt16BE(1, 2); }
    o[4] = tsresol;
    opts.push(o, Buffer.alloc(4)); // opt_endofopt
  }
  return pcapngBlock(le, 1, Buffer.concat([head, ...opts]));
}

/** An enhanced packet: interface, timestamp in the interface's units, data. */
function epb(le: boolean, iface: number, units: bigint, data: Buffer): Buffer {
  return pcapngBlock(le, 6, Buffer.concat([words(le, iface, Number(units >> 32n), Number(units & 0xffffffffn), data.length, data.length), data]));
}

function datagram(tag: string): Buffer {
  return ipv4({ src: '10.0.0.1', dst: '192.0.2.1', protocol: 17 }, udp({ srcPort: 40000, dstPort: 9 }, Buffer.from(tag)));
}

interface Got { tag: string; ts: number; linkType: number }

/** Replays `file` and returns each packet's UDP payload, time and link type. */
function read(file: string): { got: Got[]; r: ReturnType<typeof replayFile> } {
  const got: Got[] = [];
  const pkt = new PacketInfo();
  const stats = new DecodeStats();
  const r = replayFile(file, (buf, caplen, wireLen, ts, linkType, _h, at) => {
    assert.ok(decodePacket(linkType, buf, caplen, pkt, stats, wireLen, at), `packet ${got.length} decodes (link type ${linkType})`);
    got.push({ tag: buf.toString('latin1', pkt.payloadOffset, pkt.payloadOffset + pkt.payloadLength), ts, linkType });
  });
  return { got, r };
}

describe('capture: pcapng with interfaces of different link types', () => {
  let dir = '';
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-pcapng-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('libpcap reads up to the second interface, pcapng.ts the rest: every packet once, in order, each with its link type and time', () => {
    const file = path.join(dir, 'mixed.pcapng');
    const le = true;
    fs.writeFileSync(file, Buffer.concat([
      shb(le),
      idb(le, 1, 9), // Ethernet, nanoseconds
      epb(le, 0, 1_700_000_000_123_456_789n, ethernet({ type: ETHERTYPE_IPV4 }, datagram('a'))),
      epb(le, 0, 1_700_000_001_000_000_000n, ethernet({ type: ETHERTYPE_IPV4 }, datagram('b'))),
      idb(le, 101), // raw IP, microseconds (no if_tsresol)
      epb(le, 1, 1_700_000_002_500_000n, datagram('c')),
      epb(le, 0, 1_700_000_003_000_000_000n, ethernet({ type: ETHERTYPE_IPV4 }, datagram('d'))),
      // A second section, big-endian, its own interface numbering.
      shb(false),
      idb(false, 101, 3), // milliseconds
      epb(false, 0, 1_700_000_004_250n, datagram('e')),
    ]));
    const { got, r } = read(file);
    assert.deepEqual(got.map((g) => g.tag), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(got.map((g) => g.linkType), [1, 1, 101, 1, 101]);
    const ms = [1_700_000_000_123 + 0.456789, 1_700_000_001_000, 1_700_000_002_500, 1_700_000_003_000, 1_700_000_004_250];
    got.forEach((g, i) => assert.ok(Math.abs(g.ts - ms[i]) < 0.001, `packet ${i}: ${g.ts} vs ${ms[i]}`));
    assert.equal(r.pcapngFrom, 2, 'libpcap delivered the two packets before the second interface');
    assert.equal(r.packets, 5);
    assert.equal(r.readError, false);
  });

  it('a resumed replay (skip) passes over the packets read before, whether libpcap or pcapng.ts reads the rest', () => {
    const file = path.join(dir, 'mixed.pcapng');
    const le = true;
    fs.writeFileSync(file, Buffer.concat([
      shb(le),
      idb(le, 1),
      ...['a', 'b'].map((t, i) => epb(le, 0, BigInt(1_700_000_000_000_000 + i), ethernet({ type: ETHERTYPE_IPV4 }, datagram(t)))),
      idb(le, 101),
      ...['c', 'd', 'e'].map((t, i) => epb(le, 1, BigInt(1_700_000_001_000_000 + i), datagram(t))),
    ]));
    for (const [skip, rest] of [[0, 'abcde'], [1, 'bcde'], [2, 'cde'], [4, 'e'], [5, ''], [9, '']] as const) {
      const got: string[] = [];
      const pkt = new PacketInfo();
      const r = replayFile(file, (buf, caplen, wireLen, _ts, linkType, _h, at) => {
        assert.ok(decodePacket(linkType, buf, caplen, pkt, new DecodeStats(), wireLen, at));
        got.push(buf.toString('latin1', pkt.payloadOffset, pkt.payloadOffset + pkt.payloadLength));
      }, { skip });
      assert.equal(got.join(''), rest, `skip ${skip}`);
      assert.equal(r.readError, false);
      assert.equal(r.packets, 5, 'records read in the file, the skipped ones included');
    }
  });

  it('a block cut short at the end: the packets before it, and readError', () => {
    const file = path.join(dir, 'cut.pcapng');
    const le = true;
    const whole = Buffer.concat([
      shb(le), idb(le, 1), idb(le, 101),
      epb(le, 1, 1n, datagram('x')), epb(le, 0, 2n, ethernet({ type: ETHERTYPE_IPV4 }, datagram('y'))),
      epb(le, 1, 3n, datagram('z')),
    ]);
    fs.writeFileSync(file, whole.subarray(0, whole.length - 6));
    const { got, r } = read(file);
    assert.deepEqual(got.map((g) => g.tag), ['x', 'y']);
    assert.equal(r.readError, true);
  });

  it('mergecap of an Ethernet and an SLL2 corpus capture: the replay counts what the two give apart, and tshark agrees on packets', async function () {
    this.timeout(30_000);
    const a = corpusFile('tcpdump/dns_udp.pcap');
    const b = corpusFile('suricata-verify/decode-sll2-01.pcap');
    requirePrereq(this, fs.existsSync(a) && fs.existsSync(b), 'corpus captures');
    requirePrereq(this, haveCommand('mergecap') && haveCommand('tshark'), 'mergecap and tshark (wireshark)');
    const merged = path.join(dir, 'merged.pcapng');
    execFileSync('mergecap', ['-F', 'pcapng', '-w', merged, a, b]);
    const frames = execFileSync('tshark', ['-r', merged, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .trim().split('\n').length;
    const silent = winston.createLogger({ silent: true });
    const replay = async (files: string[]) => {
      const state = fs.mkdtempSync(path.join(dir, 'state-'));
      const config = loadConfig({ flags: { 'state-dir': state, 'alerts-file': path.join(state, 'alerts.json') }, env: {} });
      return runReplay(config, files, silent);
    };
    const together = await replay([merged]);
    const apart = await replay([a, b]);
    assert.equal(together.packets, frames);
    assert.equal(together.packets, apart.packets);
    assert.equal(together.dnsResponses, apart.dnsResponses);
    assert.equal(together.dnsAnswers, apart.dnsAnswers);
    assert.deepEqual(together.connections, apart.connections);
    assert.deepEqual(together.incompleteFiles, []);
    assert.ok(together.packets > 0 && together.dnsAnswers > 0);
  });
});
