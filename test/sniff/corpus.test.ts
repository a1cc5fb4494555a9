// Real captures: names sniffed through capture → decode → sniff equal tshark 4.0.17's
// tls.handshake.extensions_server_name (TCP and QUIC) and http.host from the corpus dumps.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { CORPUS_DIR, corpusFile, requirePrereq } from '../helpers/env.js';
import { namesFromCapture, tsharkNames, type Names } from './corpus-helper.js';

const sorted = (s: Set<string>): string[] => [...s].sort();

interface ManifestRow { path: string; sniAll: number; sniTcp: number; httpHost: number }

function manifest(): ManifestRow[] {
  const lines = fs.readFileSync(corpusFile('manifest.tsv'), 'utf8').split('\n').filter((l) => l !== '');
  const cols = lines[0].split('\t');
  const at = (f: string[], name: string): string => f[cols.indexOf(name)];
  return lines.slice(1).map((l) => l.split('\t')).map((f) => ({
    path: at(f, 'path'), sniAll: Number(at(f, 'tls_sni_all')), sniTcp: Number(at(f, 'tls_sni_tcp')), httpHost: Number(at(f, 'http_requests_with_host')),
  }));
}

/** tshark's names, or empty sets when the corpus has no dump because tshark found none (checked against the manifest). */
function expected(row: ManifestRow): Names & { httpUdp: Set<string> } {
  const t = tsharkNames(CORPUS_DIR, row.path);
  if (t) return t;
  assert.equal(row.sniAll + row.httpHost, 0, `${row.path}: no tshark dump although the manifest counts names`);
  return { sniTcp: new Set(), sniQuic: new Set(), http: new Set(), httpUdp: new Set() };
}

function assertSameNames(row: ManifestRow): void {
  const got = namesFromCapture(corpusFile(row.path));
  const want = expected(row);
  assert.deepEqual(sorted(got.sniTcp), sorted(want.sniTcp), `${row.path}: TLS SNI over TCP`);
  assert.deepEqual(sorted(got.sniQuic), sorted(want.sniQuic), `${row.path}: QUIC SNI`);
  assert.deepEqual(sorted(got.http), sorted(want.http), `${row.path}: HTTP Host over TCP`);
  // The manifest counts frames; a name appears at least once per counted set.
  assert.ok(want.sniTcp.size <= row.sniTcp && want.sniTcp.size + want.sniQuic.size <= row.sniAll);
  assert.equal(want.sniTcp.size > 0, row.sniTcp > 0, `${row.path}: manifest and dump agree on TCP SNI`);
  assert.equal(want.sniQuic.size > 0, row.sniAll - row.sniTcp > 0, `${row.path}: manifest and dump agree on QUIC SNI`);
}

/**
 * Deliberate differences from tshark, each with its reason:
 * - HTTP over UDP (SSDP "M-SEARCH * HTTP/1.1" with Host 239.255.255.250:1900 in
 *   base64-decode-5885.pcap) is not sniffed: sniffStream is for TCP streams, and M-SEARCH /
 *   NOTIFY are not among its methods. tsharkNames keeps those hosts apart (httpUdp).
 */

describe('sniff: corpus captures against tshark', function () {
  let rows: ManifestRow[] = [];
  before(function () {
    requirePrereq(this, fs.existsSync(corpusFile('manifest.tsv')), `packet corpus at ${CORPUS_DIR}`);
    rows = manifest();
  });
  const row = (p: string): ManifestRow => {
    const r = rows.find((x) => x.path === p);
    assert.ok(r, `${p} in manifest`);
    return r;
  };

  const named: [string, string][] = [
    ['suricata-verify/tls-client-hello-frag-01.pcap', 'ClientHello split across records'],
    ['zeek/tls__tls1.2.pcap', 'TLS 1.2 without SNI'],
    ['zeek/tls__chrome-34-google.pcap', 'Chrome 34 hello'],
    ['zeek/http__get.pcap', 'one GET'],
    ['zeek/http__pipelined-requests.pcap', 'five pipelined GETs'],
    ['zeek/http-vlan-0.pcap', 'GET in VLAN 0'],
    ['zeek/quic__curl-8.1.2-dev-http3-www-google-de.pcap', 'QUIC v1 Initial from curl'],
    ['suricata-verify/ja4-tls-quic.pcap', 'TLS and QUIC to the same host'],
  ];
  for (const [file, what] of named) {
    it(`${file} (${what})`, () => assertSameNames(row(file)));
  }

  it('the named captures hold the expected names', () => {
    const all = (p: string): string[] => {
      const g = namesFromCapture(corpusFile(p));
      return [...sorted(g.sniTcp), ...sorted(g.sniQuic), ...sorted(g.http)];
    };
    assert.deepEqual(all('suricata-verify/tls-client-hello-frag-01.pcap'), ['www.google.com']);
    assert.deepEqual(all('zeek/quic__curl-8.1.2-dev-http3-www-google-de.pcap'), ['www.google.de']);
    assert.deepEqual(all('suricata-verify/ja4-tls-quic.pcap'), ['cloudflare-quic.com', 'cloudflare-quic.com']);
    assert.deepEqual(all('zeek/tls__tls1.2.pcap'), []);
  });

  it('every capture with TLS SNI or HTTP Host in the manifest gives tshark\'s names', () => {
    const files = rows.filter((r) => r.sniAll > 0 || r.httpHost > 0);
    assert.ok(files.length >= 30, `corpus has ${files.length} files with names`);
    for (const r of files) {
      assertSameNames(r);
    }
  });
});
