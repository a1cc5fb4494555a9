// Runs the compiled CLI as a child process, the way an operator or systemd does.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SETTINGS } from '../../lib/config/index.js';
import { REPO_ROOT, corpusFile, requirePrereq } from '../helpers/env.js';

const CLI = path.join(REPO_ROOT, 'dist', 'agent', 'cli.js');

interface Result { status: number | null; stdout: string; stderr: string }

function cli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Result {
  // A clean EGRESSWATCH_* environment so the runner's own variables cannot leak in.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EGRESSWATCH_')));
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...base, ...env }, encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One line on stderr, no stack frame. */
function assertOneLine(r: Result, pattern: RegExp): void {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.ok(lines.length >= 1 && lines.length <= 2, `stderr: ${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.ok(!r.stderr.includes('    at '), `no stack trace expected: ${r.stderr}`);
}

describe('agent CLI (compiled, as a child process)', () => {
  let dir: string;
  before(function () {
    requirePrereq(this, fs.existsSync(CLI), 'dist/agent/cli.js built (npx tsc)');
  });
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-cli-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('--help names both commands', () => {
    const r = cli(['--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /egresswatch run/);
    assert.match(r.stdout, /egresswatch replay <files\.\.>/);
  });

  for (const cmd of ['run', 'replay'] as const) {
    it(`${cmd} --help lists every ${cmd} flag with its default and env var`, () => {
      const r = cli([cmd, '--help']);
      assert.equal(r.status, 0, r.stderr);
      for (const spec of SETTINGS.filter((s) => s.commands.includes(cmd))) {
        assert.ok(r.stdout.includes(`--${spec.flag}`), `--${spec.flag} missing from ${cmd} --help`);
        if (spec.env) assert.ok(r.stdout.replace(/\s+/g, ' ').includes(spec.env), `${spec.env} missing`);
      }
      assert.ok(r.stdout.includes('--config'));
      assert.equal((r.stdout.match(/\[default: /g) ?? []).length >= SETTINGS.filter((s) => s.commands.includes(cmd)).length, true);
    });
  }

  it('a bad --learning-period exits 2 with one line naming the flag', () => {
    const r = cli(['run', '--learning-period', 'abc']);
    assert.equal(r.status, 2);
    assertOneLine(r, /^egresswatch: invalid --learning-period 'abc': expected a duration/);
  });

  it('a bad environment value names the variable', () => {
    const r = cli(['run'], { EGRESSWATCH_DNS_PORT: '53,99999' });
    assert.equal(r.status, 2);
    assertOneLine(r, /^egresswatch: invalid EGRESSWATCH_DNS_PORT '99999'/);
  });

  it('a missing config file names the file', () => {
    const missing = path.join(dir, 'absent.yaml');
    const r = cli(['run', '--config', missing]);
    assert.equal(r.status, 2);
    assertOneLine(r, new RegExp(`^egresswatch: cannot read config file ${missing}: ENOENT`));
  });

  it('an unknown key in the config file (via EGRESSWATCH_CONFIG) names key and file', () => {
    const file = path.join(dir, 'c.yaml');
    fs.writeFileSync(file, 'stateDir: /tmp/x\nalertDelayy: 5s\n');
    const r = cli(['replay', 'x.pcap'], { EGRESSWATCH_CONFIG: file });
    assert.equal(r.status, 2);
    assertOneLine(r, new RegExp(`unknown key 'alertDelayy' in config file ${file} \\(did you mean 'alertDelay'\\?\\)`));
  });

  it('an unknown flag or a missing command is a usage error, exit 2', () => {
    for (const args of [['run', '--no-such-flag'], [], ['replay'], ['frobnicate']]) {
      const r = cli(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assertOneLine(r, /^egresswatch: /);
    }
  });

  it('replay of a nonexistent file exits non-zero and names the file', () => {
    const missing = path.join(dir, 'nope.pcap');
    const r = cli(['replay', missing, '--state-dir', dir, '--alerts-file', path.join(dir, 'a.json')]);
    assert.notEqual(r.status, 0);
    assertOneLine(r, new RegExp(`^egresswatch: cannot read capture file ${missing}: ENOENT`));
  });

  it('a --state-dir that cannot be created (under /proc) fails at once, naming it, instead of hanging', () => {
    // Node 20's recursive mkdir never settles under /proc; the agent used to sit there silent.
    const state = `/proc/egresswatch-test-${process.pid}/state`;
    const r = cli(['replay', corpusFile('tcpdump/dns_udp.pcap'), '--state-dir', state, '--alerts-file', path.join(dir, 'a.json')], {}, 15_000);
    assert.notEqual(r.status, null, 'the agent did not exit within 15 s');
    assert.notEqual(r.status, 0);
    assertOneLine(r, new RegExp(`^egresswatch: cannot open baseline database '${state}/baseline': the directory cannot be created .*--state-dir`));
  });

  it('replay of a capture cut short: the packets before the cut are replayed, the file is named in the stats and the log', () => {
    const cut = path.join(dir, 'cut.pcap');
    const whole = fs.readFileSync(corpusFile('tcpdump/dns_udp.pcap'));
    fs.writeFileSync(cut, whole.subarray(0, whole.length - 10));
    const r = cli(['replay', cut, '--stats-json', '--state-dir', path.join(dir, 'state'), '--alerts-file', path.join(dir, 'a.json')]);
    assert.equal(r.status, 0, r.stderr);
    const stats = JSON.parse(r.stdout) as { packets: number; incompleteFiles: { file: string; packets: number }[] };
    assert.ok(stats.packets > 0, 'the packets before the cut');
    assert.deepEqual(stats.incompleteFiles.map((f) => [f.file, f.packets]), [[cut, stats.packets]]);
    const logged = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { level: string; message: string; file: string; error: string });
    assert.ok(logged.some((l) => l.level === 'error' && l.message === 'capture file not read to its end' && l.file === cut && /cut short or corrupt/.test(l.error)), r.stderr);
  });

  it('a reader of --stdout that has gone away does not stop the run: exit 0, told once on stderr, every alert in the file', async function () {
    this.timeout(60_000);
    const capture = path.join(dir, 'c.pcap');
    const gen = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'bench', 'gen-capture.js'), '--packets', '5000', '--out', capture], { encoding: 'utf8' });
    assert.equal(gen.status, 0, gen.stderr);
    const alertsFile = path.join(dir, 'a.json');
    const args = [CLI, 'replay', capture, '--stdout', '--state-dir', path.join(dir, 'state'), '--alerts-file', alertsFile,
      ...['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32'].flatMap((c) => ['--external-cidr', c])];
    // The reader is gone before the alerts come (they are written in one burst at the end).
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 0, stderr);
    assert.equal(stderr.match(/standard output was closed by its reader \(EPIPE\)/g)?.length, 1, stderr);
    assert.ok(!stderr.includes('    at '), 'no stack trace');
    const lines = fs.readFileSync(alertsFile, 'utf8').trim().split('\n');
    assert.ok(lines.length > 10, `alerts in the file: ${lines.length}`);
  });

  it('replay - reads the capture from standard input (a pipe), as tcpdump -r - does', () => {
    // A shell pipe, as an operator writes it.
    const r = spawnSync('sh', ['-c', `cat "$1" | "$2" "$3" replay - --stats-json --state-dir "$4" --alerts-file "$5"`, 'sh',
      corpusFile('tcpdump/dns_udp.pcap'), process.execPath, CLI, path.join(dir, 'state'), path.join(dir, 'a.json')], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const stats = JSON.parse(r.stdout) as { packets: number; dnsAnswers: number; files: number };
    const fromFile = cli(['replay', corpusFile('tcpdump/dns_udp.pcap'), '--stats-json', '--state-dir', path.join(dir, 'state2'), '--alerts-file', path.join(dir, 'b.json')]);
    const expected = JSON.parse(fromFile.stdout) as { packets: number; dnsAnswers: number };
    assert.deepEqual([stats.packets, stats.dnsAnswers, stats.files], [expected.packets, expected.dnsAnswers, 1]);
    assert.ok(stats.packets > 0);
  });

  it('a negative value (--alert-delay -1s) reaches its setting and is refused by name, not taken for flags', () => {
    const r = cli(['replay', '--alert-delay', '-1s', 'x.pcap']);
    assert.equal(r.status, 2);
    assertOneLine(r, /invalid --alert-delay '-1s'/);
    const size = cli(['replay', '--alerts-max-size', '-1k', 'x.pcap']);
    assert.equal(size.status, 2);
    assertOneLine(size, /invalid --alerts-max-size '-1k'/);
  });

  it('a repeated flag reaches the loader as a list and does not swallow the file names', () => {
    const bad = cli(['replay', '--dns-port', '53', '--dns-port', '99999', 'x.pcap']);
    assert.equal(bad.status, 2);
    assertOneLine(bad, /invalid --dns-port '99999'/);
    const missing = path.join(dir, 'after-flag.pcap');
    const r = cli(['replay', '--internal-cidr', '10.0.0.0/8', missing]);
    assert.equal(r.status, 2);
    assertOneLine(r, new RegExp(`cannot read capture file ${missing}`));
  });

  // Depends on lib/pipeline (runReplay) and a corpus capture; the packet count comes from the
  // corpus manifest, which was produced independently with tshark.
  it('replay --stats-json prints one JSON line whose packet count matches the manifest', function () {
    const rel = 'suricata-verify/bug-1158.pcap';
    const manifest = path.join(path.dirname(corpusFile('x')), 'manifest.tsv');
    requirePrereq(this, fs.existsSync(corpusFile(rel)) && fs.existsSync(manifest), `corpus ${rel}`);
    requirePrereq(this, fs.existsSync(path.join(REPO_ROOT, 'dist', 'lib', 'capture', 'index.js')), 'pipeline built');
    const rows = fs.readFileSync(manifest, 'utf8').split('\n').map((l) => l.split('\t'));
    const col = rows[0].indexOf('packets');
    const expected = Number(rows.find((r) => r[0] === rel)?.[col]);
    const r = cli(['replay', corpusFile(rel), '--stats-json', '--state-dir', path.join(dir, 'state'),
      '--alerts-file', path.join(dir, 'alerts.json'), '--log-level', 'warn']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, `stdout: ${r.stdout}`);
    const stats = JSON.parse(lines[0]) as { packets: number };
    assert.equal(stats.packets, expected);
  });
});
