// Naming from the traffic itself, end to end through the replay pipeline: a connection with no
// DNS answer in the capture is named by its TLS SNI, HTTP Host or QUIC Initial SNI, and the
// name equals what tshark decodes from the same packets.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { loadConfig } from '../../lib/config/index.js';
import { runReplay } from '../../lib/pipeline/index.js';
import { corpusFile, haveCommand, requirePrereq } from '../helpers/env.js';

const silent = winston.createLogger({ silent: true });

function tsharkNames(file: string, field: string, filter: string): string[] {
  const out = execFileSync('tshark', ['-n', '-r', file, '-Y', filter, '-T', 'fields', '-e', field], { encoding: 'utf8' });
  return [...new Set(out.split('\n').map((l) => l.trim().toLowerCase().replace(/:\d+$/, '')).filter(Boolean))].sort();
}

const CASES: { file: string; source: string; field: string; filter: string }[] = [
  { file: 'zeek/tls__chrome-34-google.pcap', source: 'sni', field: 'tls.handshake.extensions_server_name', filter: 'tcp && tls.handshake.extensions_server_name' },
  { file: 'suricata-verify/tls-client-hello-frag-01.pcap', source: 'sni', field: 'tls.handshake.extensions_server_name', filter: 'tcp && tls.handshake.extensions_server_name' },
  { file: 'zeek/http__get.pcap', source: 'http', field: 'http.host', filter: 'http.request' },
  { file: 'zeek/quic__curl-8.1.2-dev-http3-www-google-de.pcap', source: 'quic', field: 'tls.handshake.extensions_server_name', filter: 'quic && tls.handshake.extensions_server_name' },
];

describe('pipeline: names from SNI, HTTP Host and QUIC', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-naming-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const c of CASES) {
    it(`${c.file}: ${c.source} names match tshark`, async function () {
      requirePrereq(this, haveCommand('tshark'), 'tshark');
      await check(c, corpusFile(c.file));
    });
  }

  // The same captures with every packet in them twice (mergecap of the file with itself): how a
  // retransmitted segment looks to a capture on the sending host. A ClientHello over several
  // segments is put together by sequence number, not by arrival, so a repeated segment must not
  // break it.
  for (const c of CASES.filter((x) => x.source !== 'quic')) {
    it(`${c.file}, every packet captured twice: the same ${c.source} names`, async function () {
      requirePrereq(this, haveCommand('tshark') && haveCommand('mergecap'), 'tshark and mergecap');
      const twice = path.join(dir, `twice-${path.basename(c.file)}`);
      execFileSync('mergecap', ['-F', 'pcap', '-w', twice, corpusFile(c.file), corpusFile(c.file)]);
      await check(c, twice);
    });
  }

  async function check(c: (typeof CASES)[number], file: string): Promise<void> {
    const expected = tsharkNames(file, c.field, c.filter);
    assert.ok(expected.length > 0, `tshark finds ${c.field} in ${c.file}`);
    const sub = fs.mkdtempSync(path.join(dir, 'r-'));
    const config = loadConfig({ flags: {
      'state-dir': path.join(sub, 'state'), 'alerts-file': path.join(sub, 'alerts.json'),
      'learning-period': '0', 'external-cidr': ['0.0.0.0/0', '::/0'],
    }, env: {} });
    await runReplay(config, [file], silent);
    const alerts = fs.readFileSync(path.join(sub, 'alerts.json'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const named = [...new Set(alerts.filter((a) => a.egresswatch.name_source === c.source).map((a) => a.destination.domain))].sort();
    assert.deepEqual(named, expected);
    for (const a of alerts.filter((x) => x.egresswatch.name_source === c.source)) {
      assert.equal(a.egresswatch.domain_group, a.destination.registered_domain ?? a.destination.domain);
    }
  }
});
