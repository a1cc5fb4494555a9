// `egresswatch replay` over every capture in the shared corpus: the files libpcap opens replay
// with exit status 0; the ones it refuses fail with one clear line naming the file; and the
// DNS answer counts agree with tshark's on files that have answers.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CORPUS_DIR, REPO_ROOT, haveCommand, requirePrereq } from '../helpers/env.js';

interface Row { path: string; opens: boolean }

function manifest(): Row[] {
  const text = fs.readFileSync(path.join(CORPUS_DIR, 'manifest.tsv'), 'utf8');
  const [head, ...lines] = text.trim().split('\n');
  const cols = head.split('\t');
  const openCol = cols.findIndex((c) => c.includes('pcap_open_offline'));
  return lines.map((l) => l.split('\t')).map((c) => ({ path: c[0], opens: c[openCol].startsWith('ok') }));
}

const CLI = path.join(REPO_ROOT, 'dist', 'agent', 'cli.js');

function replay(files: string[], dir: string): ReturnType<typeof spawnSync> {
  return spawnSync(process.execPath, [CLI, 'replay', '--stats-json', '--learning-period', '0',
    '--state-dir', path.join(dir, 'state'), '--alerts-file', path.join(dir, 'alerts.json'), '--log-level', 'error', ...files],
  { encoding: 'utf8', timeout: 120_000 });
}

/**
 * A/AAAA answers as tshark decodes them, counted the way the agent maps them: records of the
 * answer section (the first `dns.count.answers` resource records) whose owner is the asked name
 * or a CNAME on its chain. tshark's own `dns.a` also lists glue from the authority and
 * additional sections, which name nothing the client asked for.
 */
function tsharkAnswers(file: string): { responses: number; answers: number } {
  const out = execFileSync('tshark', ['-n', '-r', file, '-Y', 'dns.flags.response == 1 && (udp.srcport == 53 || tcp.srcport == 53)',
    '-T', 'fields', '-e', 'dns.qry.name', '-e', 'dns.count.answers', '-e', 'dns.resp.name', '-e', 'dns.resp.type', '-e', 'dns.cname',
    '-E', 'occurrence=a', '-E', 'aggregator=;'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  let responses = 0;
  let answers = 0;
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const [qnames, counts, rnames, rtypes, cnames] = line.split('\t');
    // One frame may carry several DNS messages (TCP): the fields then hold all of them in order.
    const qs = qnames.split(';');
    const ns = counts.split(';').map(Number);
    const owners = rnames === '' ? [] : rnames.split(';').map((n) => n.toLowerCase());
    const types = rtypes === '' ? [] : rtypes.split(';').map(Number);
    const targets = cnames === '' ? [] : cnames.split(';').map((n) => n.toLowerCase());
    let rr = 0;
    let cn = 0;
    for (let m = 0; m < ns.length; m++) {
      responses++;
      const n = ns[m];
      const cnameOf = new Map<string, string>();
      const section = [];
      for (let i = 0; i < n && rr < owners.length; i++, rr++) {
        section.push({ owner: owners[rr], type: types[rr] });
        if (types[rr] === 5) {
          const target = targets[cn++];
          if (!cnameOf.has(owners[rr])) cnameOf.set(owners[rr], target);
        }
      }
      const first = (qs[m] ?? '').toLowerCase() || section[0]?.owner || '';
      const chain = new Set([first]);
      for (let t = cnameOf.get(first); t !== undefined && !chain.has(t); t = cnameOf.get(t)) chain.add(t);
      answers += section.filter((r) => (r.type === 1 || r.type === 28) && chain.has(r.owner)).length;
      // Skip this message's authority/additional records and their CNAMEs: not answers.
      // (tshark lists them after the answers; the next message's records follow.)
    }
  }
  return { responses, answers };
}

describe('replay over the shared corpus', function () {
  this.timeout(180_000);
  let dir: string;
  let rows: Row[];

  before(function () {
    requirePrereq(this, fs.existsSync(path.join(CORPUS_DIR, 'manifest.tsv')), `corpus at ${CORPUS_DIR}`);
    rows = manifest();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-corpus-'));
  });
  after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  it('replays every capture libpcap opens, in one run, with exit status 0 and stats', () => {
    const files = rows.filter((r) => r.opens).map((r) => path.join(CORPUS_DIR, r.path));
    assert.ok(files.length > 100, `found ${files.length} captures`);
    const r = replay(files, dir);
    assert.equal(r.status, 0, `stderr: ${String(r.stderr)}`);
    const stats = JSON.parse(String(r.stdout).trim().split('\n').pop() ?? '{}');
    for (const k of ['packets', 'decodeErrors', 'dnsResponses', 'dnsAnswers', 'connections', 'alerts', 'seconds', 'packetsPerSecond']) {
      assert.ok(k in stats, `stats has ${k}`);
    }
    assert.ok(stats.packets > 7000, `packets ${stats.packets}`);
    assert.ok(stats.dnsResponses > 200, `dnsResponses ${stats.dnsResponses}`);
    assert.ok(stats.connections.tcp > 100, `tcp connections ${stats.connections.tcp}`);
    assert.deepEqual(stats.failedFiles, []);
    assert.ok(Object.keys(stats.decodeErrors).length > 0, 'the corpus has malformed packets, and they are counted');
  });

  it('refuses each capture libpcap cannot open with one line naming it, and a non-zero exit', () => {
    const bad = rows.filter((r) => !r.opens);
    assert.ok(bad.length >= 3);
    for (const row of bad) {
      const file = path.join(CORPUS_DIR, row.path);
      const r = replay([file], dir);
      assert.notEqual(r.status, 0, row.path);
      assert.ok(String(r.stderr).includes(path.basename(file)), `${row.path}: ${String(r.stderr)}`);
      assert.ok(!/\n\s+at /.test(String(r.stderr)), `no stack trace: ${String(r.stderr)}`);
    }
  });

  describe('DNS answers agree with tshark', () => {
    const files = [
      'zeek/dns53.pcap', 'suricata-verify/bug-1158.pcap', 'zeek/dns-two-responses.pcap', 'zeek/dns-edns-ecs.pcap',
      'tcpdump/dns_tcp.pcap', 'suricata-verify/dns-tcp-www-google-com.pcap', 'zeek/wikipedia.pcap',
      'suricata-verify/tls-subjectaltname.pcap', 'zeek/var-services-std-ports.pcap', 'tcpdump/edns-opts.pcap',
    ];
    for (const rel of files) {
      it(rel, function () {
        requirePrereq(this, haveCommand('tshark'), 'tshark');
        const file = path.join(CORPUS_DIR, rel);
        const expected = tsharkAnswers(file);
        assert.ok(expected.responses > 0, `tshark sees DNS responses in ${rel}`);
        const sub = fs.mkdtempSync(path.join(dir, 'f-'));
        const r = replay([file], sub);
        assert.equal(r.status, 0, String(r.stderr));
        const stats = JSON.parse(String(r.stdout).trim());
        assert.equal(stats.dnsAnswers, expected.answers, `${rel}: A/AAAA answers`);
      });
    }
  });
});
