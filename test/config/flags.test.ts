import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULTS, SETTINGS, checkInputFiles, ConfigError, defaultText, flagOptions, loadConfig } from '../../lib/config/index.js';

describe('config settings table and flag definitions', () => {
  it('covers every field of AgentConfig exactly once', () => {
    const fields = SETTINGS.map((s) => s.field).sort();
    assert.deepEqual(fields, Object.keys(DEFAULTS).sort());
    assert.equal(new Set(SETTINGS.map((s) => s.flag)).size, SETTINGS.length);
    assert.equal(new Set(SETTINGS.map((s) => s.key)).size, SETTINGS.length);
  });

  it('sets no yargs default, so an absent flag cannot override env or file', () => {
    for (const cmd of ['run', 'replay'] as const) {
      for (const [flag, opt] of Object.entries(flagOptions(cmd))) {
        assert.equal(opt.default, undefined, `--${flag} must not have a yargs default`);
        assert.ok(typeof opt.defaultDescription === 'string' && opt.defaultDescription !== '', `--${flag} shows its default`);
      }
    }
  });

  it('gives run the capture flags and replay --stats-json', () => {
    const run = flagOptions('run');
    const replay = flagOptions('replay');
    assert.ok('interface' in run && 'capture-buffer' in run && !('stats-json' in run));
    assert.ok('stats-json' in replay && 'state-dir' in replay && !('interface' in replay));
  });

  it('shows defaults that parse back to DEFAULTS', () => {
    for (const spec of SETTINGS.filter((s) => s.kind === 'duration' || s.kind === 'size' || s.kind === 'count')) {
      const c = loadConfig({ flags: { [spec.flag]: defaultText(spec) }, env: {}, machineIdFile: '/nonexistent' });
      assert.equal(c[spec.field], DEFAULTS[spec.field], spec.flag);
    }
  });
});

describe('config checkInputFiles', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-files-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('resolves readable files against cwd', () => {
    fs.writeFileSync(path.join(dir, 'a.pcap'), '');
    assert.deepEqual(checkInputFiles(['a.pcap'], 'capture file', dir), [path.join(dir, 'a.pcap')]);
  });

  it('names a missing file, a directory, and an empty list', () => {
    assert.throws(() => checkInputFiles(['nope.pcap'], 'capture file', dir),
      (e: unknown) => e instanceof ConfigError && e.message.startsWith(`cannot read capture file ${dir}/nope.pcap: ENOENT`));
    assert.throws(() => checkInputFiles([dir], 'capture file', dir), /not a regular file/);
    assert.throws(() => checkInputFiles([], 'capture file', dir), /no capture file given/);
  });
});
