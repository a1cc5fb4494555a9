// JA3 TLS client fingerprints against Wireshark's (tshark's tls.handshake.ja3) on real
// captures from the shared corpus: browsers, curl over QUIC, a JVM, post-quantum and ECH
// ClientHellos, one split over records. Each capture is replayed through the agent's pipeline;
// every alert with a ClientHello must carry the fingerprint tshark computes for that connection.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { loadConfig } from '../../lib/config/index.js';
import { runReplay } from '../../lib/pipeline/index.js';
import { clientHelloFromRecords, ja3 } from '../../lib/sniff/index.js';
import { corpusFile, haveCommand, requirePrereq } from '../helpers/env.js';
import { clientHello, extension, records, serverNameExt } from './build.js';

const CAPTURES = [
  'zeek/tls__chrome-34-google.pcap',
  'zeek/tls__chrome-1250-tls-x25519-kyber.pcap',
  'zeek/tls__openjdk-25.0.2-zeek.org.pcap',
  'zeek/tls__tls1.2.pcap',
  'zeek/tls__tls-conn-with-extensions.pcap',
  'zeek/tls__tls13-ech.pcap',
  'zeek/quic__curl-8.1.2-dev-http3-www-google-de.pcap',
  'suricata-verify/tls-client-hello-frag-01.pcap',
  'suricata-verify/ja4-tls-quic.pcap',
  'suricata-verify/tls-subjectaltname.pcap',
];

interface Alert { source: { port: number }; tls?: { client: { ja3: string; server_name?: string } }; egresswatch: { tls?: { ja3_string: string } } }

describe('sniff/ja3 against tshark on real captures', function () {
  this.timeout(60_000);
  const silent = winston.createLogger({ silent: true });
  let dir = '';
  before(function () {
    requirePrereq(this, haveCommand('tshark'), 'tshark');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-ja3-'));
  });
  after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  for (const rel of CAPTURES) {
    it(rel, async function () {
      const file = corpusFile(rel);
      requirePrereq(this, fs.existsSync(file), file);
      const t = spawnSync('tshark', ['-r', file, '-Y', 'tls.handshake.type == 1', '-T', 'fields', '-e', 'tcp.srcport', '-e', 'udp.srcport', '-e', 'tls.handshake.ja3', '-e', 'tls.handshake.ja3_full'], { encoding: 'utf8' });
      assert.equal(t.status, 0, t.stderr);
      const want = new Map<number, [string, string | undefined]>();
      // Lines start with a tab when tcp.srcport is empty (QUIC): not trimmed.
      for (const line of t.stdout.split('\n').filter((l) => l.trim() !== '')) {
        const [tcp, udp, hash, full] = line.split('\t');
        if (hash) want.set(Number(tcp || udp), [hash, full || undefined]);
      }
      assert.ok(want.size > 0, 'tshark saw a ClientHello');
      const sub = fs.mkdtempSync(path.join(dir, 'r-'));
      const config = loadConfig({ flags: { 'state-dir': path.join(sub, 'state'), 'alerts-file': path.join(sub, 'alerts.json'), 'learning-period': '0' }, env: {} });
      await runReplay(config, [file], silent);
      const alerts = fs.readFileSync(path.join(sub, 'alerts.json'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Alert);
      // An alert whose connection sent a ClientHello (a port can be reused: a first SYN that got
      // nowhere, then a new connection from it, as in tls-subjectaltname.pcap).
      const checked = alerts.filter((a) => want.has(a.source.port) && a.tls !== undefined);
      assert.ok(checked.length > 0, `an alert with a fingerprint (alerts from ports ${alerts.map((a) => a.source.port).join(',')}; tshark ${[...want.keys()].join(',')})`);
      for (const a of checked) {
        const [hash, full] = want.get(a.source.port)!;
        assert.equal(a.egresswatch.tls?.ja3_string, full, `port ${a.source.port}: JA3 string`);
        assert.equal(a.tls?.client.ja3, hash, `port ${a.source.port}: JA3`);
      }
    });
  }
});

describe('sniff/ja3', () => {
  it('leaves GREASE out and hashes the string; a cut ClientHello has none', () => {
    const hello = records(clientHello({
      extensions: [extension(0x1a1a, Buffer.alloc(0)), serverNameExt([[0, 'a.example']]), extension(10, Buffer.from([0, 6, 0x2a, 0x2a, 0, 29, 0, 23])), extension(11, Buffer.from([1, 0]))],
    }));
    const msg = clientHelloFromRecords(hello, 0, hello.length);
    assert.ok(msg);
    const fp = ja3(msg);
    assert.ok(fp);
    assert.match(fp.full, /^\d+,[\d-]*,0-10-11,29-23,0$/);
    assert.match(fp.hash, /^[0-9a-f]{32}$/);
    assert.equal(clientHelloFromRecords(hello, 0, hello.length - 3), undefined);
    assert.equal(ja3(msg.subarray(0, msg.length - 1)), undefined);
  });
});
