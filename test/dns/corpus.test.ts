// Real captures from the shared corpus: the capture → decode → dns path against tshark.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { CaptureError } from '../../lib/capture/index.js';
import { corpusFile, CORPUS_DIR, haveCommand, requirePrereq } from '../helpers/env.js';
import { byFrame, dnsFromCapture, referenceAnswers, tsharkAll, tsharkText } from './corpus-helper.js';
import type { TsharkResponse } from './corpus-helper.js';

interface ManifestRow {
  path: string;
  answers: number;
  cname: number;
}

function manifest(): ManifestRow[] {
  const file = `${CORPUS_DIR}/manifest.tsv`;
  if (!fs.existsSync(file)) return [];
  const [head, ...lines] = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split('\t'));
  const col = (name: string) => head.indexOf(name);
  return lines.map((c) => ({ path: c[col('path')], answers: Number(c[col('dns_responses_with_answers')]), cname: Number(c[col('dns_responses_with_cname')]) }));
}

/**
 * Files where we deliberately see fewer responses than tshark; there we only check that
 * every response we do report is one tshark reports too.
 */
const FEWER_THAN_TSHARK: Record<string, string> = {
  // Fuzzed headers with opcode 15: not a standard-query response, so not a source of names.
  'tcpdump/dns-badlabel.pcap': 'opcode 15',
  'tcpdump/dns_fwdptr.pcap': 'opcode 15',
  // The decode stage does not reassemble IP fragments; tshark does.
  'zeek/dns-edns-ecs.pcap': 'IPv4 fragments',
  'zeek/ipv6-fragmented-dns.pcap': 'IPv6 fragments',
};

/** Files that must match tshark exactly: the ones the brief names, a CNAME-bearing one,
 * and DNS over TCP with one and with two messages per connection. */
const LIVE = ['zeek/dns53.pcap', 'suricata-verify/bug-1158.pcap', 'suricata-verify/dns-tcp-www-google-com.pcap',
  'zeek/dns-two-responses.pcap', 'zeek/wikipedia.pcap', 'zeek/var-services-std-ports.pcap', 'tcpdump/dns_tcp.pcap',
  'suricata-verify/issue-4759.1.pcap', 'zeek/dns-edns-ecs.pcap', 'tcpdump/nflog.pcap'];

const rows = manifest();
const withAnswers = rows.filter((r) => r.answers > 0);

/** Sorted per-response keys: frame, query name as tshark prints it, sorted addresses. */
function ourKeys(file: string): string[] {
  // queryType 0 with an empty name: the response had no question (tshark prints nothing).
  const qtext = (q: string, t: number) => (q === '' && t === 0 ? '' : tsharkText(q));
  return dnsFromCapture(file).responses.map((r) => key(r.frame, qtext(r.info.queryName, r.info.queryType), r.info.answers.map((x) => x.ip))).sort();
}

function key(frame: number, q: string, ips: string[]): string {
  return `${frame} ${q} ${[...ips].sort().join(',')}`;
}

/** Our results must equal the reference, or for the listed exceptions be a strict subset. */
function compare(rel: string, mine: string[], ref: string[]): void {
  if (rel in FEWER_THAN_TSHARK) {
    for (const m of mine) assert.ok(ref.includes(m), `${m} not in tshark's output`);
    assert.ok(mine.length < ref.length, `expected fewer than tshark (${FEWER_THAN_TSHARK[rel]}); fix the exception list`);
    return;
  }
  assert.deepEqual(mine, ref);
}

/** Addresses per response ("frame q ip,ip") → [responses with ≥ 1 address, addresses]. */
function counts(keys: string[]): [number, number] {
  const n = keys.map((k) => (k.endsWith(' ') ? 0 : k.slice(k.lastIndexOf(' ') + 1).split(',').length));
  return [n.filter((x) => x > 0).length, n.reduce((s, x) => s + x, 0)];
}

// Compared per response: frame, query name and the A/AAAA addresses reachable from it through
// the CNAMEs. tshark's own count (manifest column dns_responses_with_answers) includes
// answers of any type (PTR, SRV, ...) and its dns.a field includes additional-section glue;
// neither names a connection, so the comparison is on reachable addresses, computed from
// tshark's record list.
describe('dns/corpus: addresses match the stored tshark reference dumps', () => {
  before(function () {
    requirePrereq(this, rows.length > 0, `corpus manifest in ${CORPUS_DIR}`);
  });

  for (const row of withAnswers) {
    it(row.path, () => {
      const mine = byFrame(dnsFromCapture(corpusFile(row.path)).responses);
      const ref = referenceAnswers(CORPUS_DIR, row.path);
      if (row.path in FEWER_THAN_TSHARK) {
        // Every frame we report is in the dump, with no address the dump lacks (the dump's
        // any-section chain may hold more: glue, see referenceAnswers).
        for (const f of mine) {
          const r = ref.find((x) => x.frame === f.frame) ?? assert.fail(`frame ${f.frame} not in the dump`);
          for (const ip of f.addresses) assert.ok(r.addresses.includes(ip), `${f.frame} ${ip}`);
        }
        assert.ok(mine.length < ref.length);
        return;
      }
      const line = (f: { frame: number; messages: number; addresses: string[] }) => `${f.frame} ${f.messages} ${f.addresses.join(',')}`;
      assert.deepEqual(mine.map(line), ref.map(line));
    });
  }
});

describe('dns/corpus: responses and addresses match live tshark, section by section', function () {
  this.timeout(120_000);
  let tshark = new Map<string, TsharkResponse[]>();
  before(async function () {
    requirePrereq(this, rows.length > 0, `corpus manifest in ${CORPUS_DIR}`);
    requirePrereq(this, haveCommand('tshark'), 'tshark');
    tshark = await tsharkAll(LIVE.map((p) => corpusFile(p)));
  });

  it('covers CNAME chains and the required files', () => {
    for (const p of LIVE) assert.ok(withAnswers.some((r) => r.path === p), p);
    assert.ok(withAnswers.some((r) => r.path === 'zeek/wikipedia.pcap' && r.cname > 0));
  });

  for (const rel of LIVE) {
    it(rel, () => {
      const file = corpusFile(rel);
      const theirs = tshark.get(file) ?? assert.fail(`no tshark output for ${file}`);
      const mine = ourKeys(file);
      const ref = theirs.map((r) => key(r.frame, r.queryName, r.addresses)).sort();
      compare(rel, mine, ref);
      if (!(rel in FEWER_THAN_TSHARK)) {
        assert.deepEqual(counts(mine), counts(ref), '[responses with ≥ 1 address, A/AAAA addresses]');
        assert.ok(counts(mine)[0] > 0 || rel.endsWith('bug-1158.pcap'));
      }
    });
  }

  it('reads the CNAME chain of a real response (wikipedia.pcap)', () => {
    const { responses } = dnsFromCapture(corpusFile('zeek/wikipedia.pcap'));
    const chained = responses.flatMap((r) => r.info.answers).filter((x) => x.chain.length > 1);
    assert.ok(chained.length > 0);
    for (const x of chained) assert.ok(x.chain.every((n) => n === n.toLowerCase() && !n.endsWith('.')));
  });
});

describe('dns/corpus: every capture goes through the parser without throwing', function () {
  this.timeout(120_000);
  before(function () {
    requirePrereq(this, rows.length > 0, `corpus manifest in ${CORPUS_DIR}`);
  });

  it('parses every UDP payload and TCP stream of every file, counting what it drops', () => {
    let opened = 0;
    let responses = 0;
    for (const row of rows) {
      let got;
      try {
        // allPayloads: not only port 53, every UDP datagram and TCP stream is fed to the parser.
        got = dnsFromCapture(corpusFile(row.path), [53], true);
      } catch (err) {
        if (err instanceof CaptureError) continue; // libpcap cannot open it (see manifest)
        throw err;
      }
      opened++;
      responses += got.stats.responses;
      assert.equal(got.responses.length, got.stats.responses, row.path);
      for (const r of got.responses) {
        for (const a of r.info.answers) assert.ok(a.chain.length >= 1 && a.chain.length <= 17, row.path);
      }
    }
    assert.ok(opened >= 140, `opened ${opened}`);
    assert.ok(responses >= withAnswers.length);
  });
});
