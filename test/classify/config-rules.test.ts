// groupingRules and suppressions through the real config loader: read from a YAML file only,
// validated at load with the list index and key named, frozen, and usable by the classify
// stage as loaded.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, DEFAULTS, loadConfig, type ConfigSources } from '../../lib/config/index.js';
import { DomainGrouper, Suppressions } from '../../lib/classify/index.js';

const GOOD = `
groupingRules:
  - match: '*.blob.core.windows.net'
    group: blob.core.windows.net
    comment: Azure storage accounts
  - { match: '/([a-z]+)\\.svc\\.partner\\.example/', group: '$1.partner.example' }
suppressions:
  - comment: nightly backup to the vendor
    domain: '*.backup.vendor.example'
    port: 443
    user: 0
    expires: 2027-01-31
  - { comment: image pulls, software: '/usr/bin/containerd*', cidr: 198.51.100.0/24 }
`;

describe('classify config: groupingRules and suppressions in the config file', () => {
  let dir: string;
  const yaml = (text: string): string => {
    const p = path.join(dir, 'c.yaml');
    fs.writeFileSync(p, text);
    return p;
  };
  const load = (src: Partial<ConfigSources>) => loadConfig({ flags: {}, env: {}, machineIdFile: '/nonexistent', ...src });
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-rules-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('default to empty lists', () => {
    const c = load({});
    assert.deepEqual(c.groupingRules, []);
    assert.deepEqual(c.suppressions, []);
    assert.deepEqual(DEFAULTS.suppressions, []);
  });

  it('load from YAML, frozen, and drive the classify stage', () => {
    const c = load({ file: yaml(GOOD) });
    assert.deepEqual(c.groupingRules, [
      { match: '*.blob.core.windows.net', group: 'blob.core.windows.net', comment: 'Azure storage accounts' },
      { match: '/([a-z]+)\\.svc\\.partner\\.example/', group: '$1.partner.example' },
    ]);
    assert.deepEqual(c.suppressions[0], {
      comment: 'nightly backup to the vendor', domain: '*.backup.vendor.example', port: 443, user: '0', expires: '2027-01-31',
    });
    assert.ok(Object.isFrozen(c.suppressions) && Object.isFrozen(c.suppressions[1]) && Object.isFrozen(c.groupingRules[0]));
    assert.throws(() => { (c.suppressions as unknown[]).push({}); }, TypeError);

    const g = new DomainGrouper(c.groupingRules);
    assert.equal(g.group('acct.blob.core.windows.net'), 'blob.core.windows.net');
    assert.equal(g.group('billing.svc.partner.example'), 'billing.partner.example');
    const s = new Suppressions(c.suppressions, () => Date.UTC(2027, 0, 31, 12));
    const hit = s.match({ domain: 'eu.backup.vendor.example', domainGroup: 'vendor.example', uid: 0, ip: '203.0.113.9', port: 443 });
    assert.equal(hit?.comment, 'nightly backup to the vendor');
    assert.equal(s.match({ softwareId: '/usr/bin/containerd-shim', domainGroup: 'x.example', ip: '198.51.100.4', port: 443 })?.comment, 'image pulls');
  });

  it('an empty key means the default', () => {
    assert.deepEqual(load({ file: yaml('suppressions:\ngroupingRules:\n') }).suppressions, []);
  });

  it('are not taken from flags or the environment', () => {
    const c = load({
      flags: { suppressions: [{ comment: 'x', port: 1 }], 'grouping-rules': 'x' },
      env: { EGRESSWATCH_SUPPRESSIONS: 'x', EGRESSWATCH_GROUPING_RULES: 'x' },
    });
    assert.deepEqual(c.suppressions, []);
    assert.deepEqual(c.groupingRules, []);
  });

  // [YAML, setting, message pattern] — FILE in the pattern is replaced by the file's path.
  const BAD: [string, string, RegExp][] = [
    ['suppressions:\n  - comment: c\n    cidr: 10.0.0/8\n', 'suppressions',
      /^invalid suppressions\[0\]\.cidr '10\.0\.0\/8' in FILE: not a CIDR \(expected e\.g\. 10\.0\.0\.0\/8/],
    ['suppressions:\n  - { comment: a, port: 1 }\n  - { comment: b, port: 2 }\n  - { comment: c, cidr: 10.0.0/8 }\n', 'suppressions',
      /^invalid suppressions\[2\]\.cidr '10\.0\.0\/8' in FILE: not a CIDR/],
    ['suppressions:\n  - domain: x.example\n', 'suppressions', /^invalid suppressions\[0\] in FILE: 'comment' is required$/],
    ['suppressions:\n  - { comment: c, domian: x.example }\n', 'suppressions',
      /^invalid suppressions\[0\] in FILE: unknown key 'domian' \(did you mean 'domain'\?\)/],
    ['suppressions:\n  - { comment: c }\n', 'suppressions', /at least one of domain, domainGroup, software, user, cidr, port, image/],
    ['suppressions:\n  - { comment: c, port: 1, expires: 2027-13-01 }\n', 'suppressions',
      /^invalid suppressions\[0\]\.expires '2027-13-01' in FILE: expected a date like '2027-01-31'/],
    ['suppressions:\n  - { comment: c, port: 99999 }\n', 'suppressions', /^invalid suppressions\[0\]\.port '99999' in FILE: expected a port number/],
    ['suppressions: { comment: c, port: 1 }\n', 'suppressions', /^invalid suppressions in FILE: expected a list of rules/],
    ['suppressions:\n  - port 443\n', 'suppressions', /^invalid suppressions\[0\] in FILE: expected a mapping/],
    ['groupingRules:\n  - { match: "/(a/", group: x }\n', 'groupingRules',
      /^invalid groupingRules\[0\]\.match '\/\(a\/' in FILE: not a valid regular expression/],
    ['groupingRules:\n  - { match: "/(a)b/", group: "$2" }\n', 'groupingRules', /^invalid groupingRules\[0\]\.group '\$2' in FILE: \$2 refers/],
    ['groupingRules:\n  - { match: "*.a.example" }\n', 'groupingRules', /^invalid groupingRules\[0\] in FILE: 'group' is required/],
    ['groupingRules:\n  - { match: "*.a.example", group: a, note: x }\n', 'groupingRules', /unknown key 'note'/],
    ['groupingRules: "*.a.example"\n', 'groupingRules', /expected a list of rules/],
    ['suppresions: []\n', 'suppresions', /did you mean 'suppressions'\?/],
  ];
  for (const [text, setting, re] of BAD) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      const file = yaml(text);
      let caught: unknown;
      try {
        load({ file });
      } catch (err) {
        caught = err;
      }
      assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
      assert.equal(caught.setting, setting);
      assert.ok(caught.fix.length > 0);
      assert.ok(!caught.message.includes('\n'), 'one line');
      assert.match(caught.message.split(file).join('FILE'), re);
      assert.ok(!/--suppressions|--grouping-rules|EGRESSWATCH_/.test(caught.message), 'names no flag or env');
    });
  }
});
