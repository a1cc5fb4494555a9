// The agent's own log can go to a file, as text or JSON, separate from the alerts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, corpusFile } from '../helpers/env.js';

const CLI = path.join(REPO_ROOT, 'dist', 'agent', 'cli.js');

describe('agent: --log-file and --log-format', function () {
  this.timeout(60_000);
  let dir = '';
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-logfile-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const replay = (extra: string[]) => spawnSync(process.execPath, [CLI, 'replay', '--state-dir', path.join(dir, 's'),
    '--alerts-file', path.join(dir, 'alerts.json'), '--log-level', 'debug', ...extra, corpusFile('zeek/dns53.pcap')], { encoding: 'utf8' });

  it('writes text or JSON lines to the file and nothing to stdout', () => {
    const text = path.join(dir, 'logs', 'agent.log');
    const r = replay(['--log-file', text, '--log-format', 'text']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    const lines = fs.readFileSync(text, 'utf8').trim().split('\n');
    assert.ok(lines.some((l) => / debug configuration loaded/.test(l)), lines.join('\n'));
    assert.equal(fs.statSync(text).mode & 0o777, 0o640);
    const json = path.join(dir, 'agent.json.log');
    assert.equal(replay(['--log-file', json, '--log-format', 'json']).status, 0);
    const first = JSON.parse(fs.readFileSync(json, 'utf8').trim().split('\n')[0]);
    assert.equal(first.message, 'configuration loaded');
  });

  it('names the setting when the file cannot be opened', () => {
    fs.writeFileSync(path.join(dir, 'plain'), 'x');
    const r = replay(['--log-file', path.join(dir, 'plain', 'agent.log')]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--log-file/);
    assert.ok(!/\n\s+at /.test(r.stderr), r.stderr);
  });
});
