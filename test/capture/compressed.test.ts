// Compressed capture files, made here with the real tools (gzip, zstd, lz4, xz, bzip2) from
// corpus captures: a gzip file replays as its inflated capture does, a gzip stream cut short
// replays up to the cut, and the other compressions are named with the command that undoes them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { CaptureError, inflateIfCompressed } from '../../lib/capture/index.js';
import { loadConfig } from '../../lib/config/index.js';
import { runReplay, type ReplayStats } from '../../lib/pipeline/index.js';
import { corpusFile, haveCommand, isRoot, requirePrereq } from '../helpers/env.js';
import { mountTmpfs } from '../helpers/tmpfs.js';

const silent = winston.createLogger({ silent: true });
/** Corpus captures of both formats and several link types, with DNS answers, SNI and SYNs. */
const CAPTURES = ['zeek/dns53.pcap', 'suricata-verify/tls-subjectaltname.pcap', 'suricata-verify/decode-sll2-02.pcap', 'suricata-verify/base64-decode-5885.pcap',
  'zeek/http__cooper-grill-dvwa.pcapng', 'zeek/pcapng-multi-interface.pcapng'];

describe('capture: compressed capture files', function () {
  this.timeout(60_000);
  let dir: string;
  let tmp: string;
  let savedTmpdir: string | undefined;
  before(function () {
    requirePrereq(this, haveCommand('gzip'), 'gzip');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-compressed-'));
    // Where the replay inflates to (os.tmpdir() follows TMPDIR): checked empty after each replay.
    tmp = path.join(dir, 'tmp');
    fs.mkdirSync(tmp);
    savedTmpdir = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
  });
  after(() => {
    if (savedTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmpdir;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  let runs = 0;
  async function replay(files: string[]): Promise<ReplayStats> {
    runs++;
    const config = loadConfig({
      flags: { 'state-dir': path.join(dir, `state-${runs}`), 'alerts-file': path.join(dir, `alerts-${runs}.json`), 'learning-period': '0', 'external-cidr': ['0.0.0.0/0', '::/0'] },
      env: {},
    });
    const stats = await runReplay(config, files, silent);
    assert.deepEqual(fs.readdirSync(tmp), [], 'the inflated copy is removed');
    return stats;
  }

  /** The stats that say what was read, without timings. */
  const counts = (s: ReplayStats) => ({ packets: s.packets, decodeErrors: s.decodeErrors, dnsResponses: s.dnsResponses, dnsAnswers: s.dnsAnswers, connections: s.connections, alerts: s.alerts });

  it('a .gz made by gzip replays exactly as the capture it holds, pcap and pcapng alike', async () => {
    const plain: string[] = [];
    const zipped: string[] = [];
    for (const rel of CAPTURES) {
      const copy = path.join(dir, path.basename(rel));
      fs.copyFileSync(corpusFile(rel), copy);
      plain.push(copy);
      execFileSync('gzip', ['-k9', copy]);
      zipped.push(`${copy}.gz`);
    }
    for (let i = 0; i < plain.length; i++) {
      const a = await replay([plain[i]]);
      const b = await replay([zipped[i]]);
      assert.ok(a.packets > 0, plain[i]);
      assert.deepEqual(counts(b), counts(a), zipped[i]);
      assert.deepEqual(b.failedFiles, []);
      assert.deepEqual(b.incompleteFiles, []);
    }
  });

  it('a gzip stream cut short: the packets before the cut are replayed and the file is named incomplete', async () => {
    const copy = path.join(dir, 'cut-source.pcap');
    fs.copyFileSync(corpusFile('suricata-verify/tls-subjectaltname.pcap'), copy);
    const whole = await replay([copy]);
    const gz = execFileSync('gzip', ['-c', copy], { maxBuffer: 64 << 20 });
    const cut = path.join(dir, 'cut.pcap.gz');
    fs.writeFileSync(cut, gz.subarray(0, Math.floor(gz.length / 2)));
    const r = await replay([cut]);
    assert.deepEqual(r.failedFiles, []);
    assert.equal(r.incompleteFiles.length, 1);
    assert.equal(r.incompleteFiles[0].file, cut);
    assert.match(r.incompleteFiles[0].error, /gzip stream breaks off after \d+ bytes \(unexpected end of file\)/);
    assert.ok(r.packets > 0 && r.packets < whole.packets, `${r.packets} of ${whole.packets}`);
  });

  it('a gzip file that holds no capture, or nothing that inflates: failed, named, no temporary file left', async () => {
    const text = path.join(dir, 'notes.txt');
    fs.writeFileSync(text, 'not a capture\n'.repeat(100));
    execFileSync('gzip', ['-k', text]);
    const junk = path.join(dir, 'junk.pcap.gz');
    fs.writeFileSync(junk, Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(64, 0xee)]));
    const r = await replay([`${text}.gz`, junk]);
    assert.equal(r.failedFiles.length, 2, JSON.stringify(r.failedFiles));
    assert.match(r.failedFiles[0].error, new RegExp(`cannot open capture file ${text}\\.gz \\(inflated\\): unknown file format`));
    assert.doesNotMatch(r.failedFiles[0].error, /egresswatch-replay-/, 'the temporary name is not shown');
    assert.match(r.failedFiles[1].error, new RegExp(`cannot open capture file ${junk}: it starts like a gzip file but nothing could be inflated`));
  });

  for (const [tool, args, undo] of [['zstd', ['-q', '-k'], 'zstd -d'], ['lz4', ['-q', '-k', '-m'], 'lz4 -d'], ['xz', ['-k'], 'xz -dk'], ['bzip2', ['-k'], 'bzip2 -dk']] as const) {
    it(`a capture compressed with ${tool}: a clear error with the command that undoes it`, async function () {
      requirePrereq(this, haveCommand(tool), tool);
      const copy = path.join(dir, `for-${tool}.pcap`);
      fs.copyFileSync(corpusFile('zeek/dns53.pcap'), copy);
      execFileSync(tool, [...args, copy]);
      const packed = fs.readdirSync(dir).map((f) => path.join(dir, f)).find((f) => f.startsWith(`${copy}.`)) as string;
      await assert.rejects(inflateIfCompressed(packed), (e: unknown) => e instanceof CaptureError
        && e.message.includes(`it is ${tool}-compressed`) && e.message.includes(`(${undo} ${packed})`));
      const r = await replay([packed]);
      assert.equal(r.failedFiles.length, 1);
      assert.match(r.failedFiles[0].error, new RegExp(`${tool}-compressed`));
    });
  }

  it('no room to inflate into (a full TMPDIR, or none): the file fails with the fix, nothing is left behind', async function () {
    requirePrereq(this, isRoot(), 'root to mount a small tmpfs');
    const copy = path.join(dir, 'big.pcap');
    fs.copyFileSync(corpusFile('suricata-verify/tls-subjectaltname.pcap'), copy); // 1.6 MB
    execFileSync('gzip', ['-kf', copy]);
    const small = mountTmpfs('ew-inflate-', '256k');
    try {
      await assert.rejects(inflateIfCompressed(`${copy}.gz`, small.dir), (e: unknown) => e instanceof CaptureError
        && /ENOSPC/.test(e.message) && /free space there or set TMPDIR/.test(e.message));
      assert.deepEqual(fs.readdirSync(small.dir), [], 'the partial copy is removed');
    } finally {
      small.remove();
    }
    await assert.rejects(inflateIfCompressed(`${copy}.gz`, path.join(dir, 'no-such-dir')), (e: unknown) => e instanceof CaptureError
      && /no temporary directory under .*no-such-dir/.test(e.message) && /set TMPDIR/.test(e.message));
  });

  it('a plain capture, a FIFO and a missing file are left to libpcap', async () => {
    assert.equal(await inflateIfCompressed(corpusFile('zeek/dns53.pcap')), undefined);
    assert.equal(await inflateIfCompressed(path.join(dir, 'nope.pcap.gz')), undefined);
    const fifo = path.join(dir, 'a.fifo');
    execFileSync('mkfifo', [fifo]);
    assert.equal(await inflateIfCompressed(fifo), undefined, 'not opened: a FIFO cannot be read twice');
  });
});
