// The reference page and the example config follow the settings table; these tests catch a
// setting added to the code but not to the documents.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULTS, SETTINGS, defaultText, loadConfig } from '../../lib/config/index.js';
import { REPO_ROOT } from '../helpers/env.js';

const DOC = path.join(REPO_ROOT, 'docs', 'configuration.md');
const EXAMPLE = path.join(REPO_ROOT, 'deploy', 'egresswatch.example.yaml');

describe('config documentation', () => {
  it('docs/configuration.md has a table row for every setting with its key, env var and default', () => {
    const rows = fs.readFileSync(DOC, 'utf8').split('\n').filter((l) => l.startsWith('| `--'));
    for (const spec of SETTINGS) {
      const row = rows.find((r) => r.startsWith(`| \`--${spec.flag}\` |`));
      assert.ok(row, `no row for --${spec.flag}`);
      if (spec.inFile) assert.ok(row.includes(`\`${spec.key}\``), `${spec.key} missing from its row`);
      if (spec.env) assert.ok(row.includes(`\`${spec.env}\``), `${spec.env} missing from its row`);
      const def = defaultText(spec);
      if (!spec.field.startsWith('host')) {
        assert.ok(row.includes(def) || (def === '1m' && row.includes('60s')), `default ${def} missing for --${spec.flag}`);
      }
    }
  });

  it('the example config loads, names every file key, and sets the built-in defaults', () => {
    const text = fs.readFileSync(EXAMPLE, 'utf8');
    for (const spec of SETTINGS.filter((s) => s.inFile)) {
      assert.match(text, new RegExp(`^#? ?${spec.key}:`, 'm'), `${spec.key} missing from the example`);
    }
    const c = loadConfig({ file: EXAMPLE, flags: {}, env: {}, machineIdFile: '/nonexistent' });
    assert.deepEqual({ ...c, hostId: '' }, { ...DEFAULTS });
  });
});
