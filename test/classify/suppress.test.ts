// Suppression rules: each matcher alone, AND across matchers, first match wins, expiry with an
// injected clock, statistics, and rejection of bad rules by the shared parser.
import assert from 'node:assert/strict';
import {
  RuleError, Suppressions, parseExpiry, parseSuppressionRule,
  type SuppressionCandidate, type SuppressionRule,
} from '../../lib/classify/index.js';

const BASE: SuppressionCandidate = {
  domain: 'api.vendor.example', domainGroup: 'vendor.example', softwareId: '/usr/bin/curl',
  softwareKey: 'exe:/usr/bin/curl', userName: 'backup', uid: 1001, ip: '203.0.113.10', port: 443,
  image: 'docker.io/library/nginx:1.25', unit: 'backup.service',
};
const T0 = Date.UTC(2026, 11, 4, 12, 0, 0);

// [rule matcher, candidate changes, should match]
const CASES: [Omit<SuppressionRule, 'comment'>, Partial<SuppressionCandidate>, boolean][] = [
  [{ domain: 'api.vendor.example' }, {}, true],
  [{ domain: 'API.Vendor.Example.' }, {}, true],
  [{ domain: 'api.vendor.example' }, { domain: 'x.api.vendor.example' }, false],
  [{ domain: '*.vendor.example' }, {}, true],
  [{ domain: '*.vendor.example' }, { domain: 'vendor.example' }, false],
  [{ domain: '*.vendor.example' }, { domain: 'evilvendor.example' }, false],
  [{ domain: '*.vendor.example' }, { domain: undefined }, false],
  [{ domainGroup: 'vendor.example' }, {}, true],
  [{ domainGroup: 'vendor.example' }, { domainGroup: 'other.example' }, false],
  [{ software: '/usr/bin/curl' }, {}, true],
  [{ software: '/usr/bin/*' }, {}, true],
  [{ software: 'exe:*curl' }, {}, true],
  [{ software: '/usr/bin/wget' }, {}, false],
  [{ software: '/usr/bin/*' }, { softwareId: undefined, softwareKey: undefined }, false],
  [{ user: 'backup' }, {}, true],
  [{ user: '1001' }, {}, true],
  [{ user: '1001' }, { uid: 0 }, false],
  [{ user: 'root' }, {}, false],
  [{ cidr: '203.0.113.0/24' }, {}, true],
  [{ cidr: '203.0.113.10' }, {}, true],
  [{ cidr: '198.51.100.0/24' }, {}, false],
  [{ cidr: '203.0.113.0/24' }, { ip: '::ffff:203.0.113.10' }, true],
  [{ cidr: '2001:db8::/32' }, { ip: '2001:db8:1::5' }, true],
  [{ cidr: '2001:db8::/32' }, {}, false],
  [{ port: 443 }, {}, true],
  [{ port: 443 }, { port: 8443 }, false],
  [{ image: 'docker.io/library/nginx:*' }, {}, true],
  [{ image: '*/nginx:1.25' }, {}, true],
  [{ image: 'docker.io/library/redis:*' }, {}, false],
  [{ image: '*nginx*' }, { image: undefined }, false],
  [{ unit: 'backup.service' }, {}, true],
  [{ unit: 'session-*.scope' }, { unit: 'session-42.scope' }, true],
  [{ unit: 'session-*.scope' }, {}, false],
  [{ unit: '*.service' }, { unit: undefined }, false],
  // AND: every matcher given must match.
  [{ domain: '*.vendor.example', port: 443, user: 'backup' }, {}, true],
  [{ domain: '*.vendor.example', port: 443, user: 'root' }, {}, false],
  [{ cidr: '203.0.113.0/24', software: '/usr/bin/wget' }, {}, false],
];

describe('classify/suppress Suppressions', () => {
  for (const [matcher, change, ok] of CASES) {
    it(`${JSON.stringify(matcher)} ${ok ? 'matches' : 'does not match'} ${JSON.stringify(change)}`, () => {
      const rule = parseSuppressionRule({ comment: 'case', ...matcher });
      const s = new Suppressions([rule], () => T0);
      assert.equal(s.match({ ...BASE, ...change }), ok ? rule : undefined);
      assert.equal(s.stats.suppressed, ok ? 1 : 0);
      assert.equal(s.stats.byRule.case, ok ? 1 : 0);
    });
  }

  it('first match wins; repeated comments get distinct stats keys', () => {
    const rules = [
      { comment: 'vendor', port: 8443 },
      { comment: 'vendor', domain: '*.vendor.example' },
      { comment: 'catch-all port', port: 443 },
    ].map(parseSuppressionRule);
    const s = new Suppressions(rules, () => T0);
    assert.equal(s.match(BASE), rules[1]);
    assert.equal(s.match({ ...BASE, domain: 'other.example' }), rules[2]);
    assert.equal(s.match({ ...BASE, port: 22, domain: undefined }), undefined);
    assert.deepEqual(s.stats, { suppressed: 2, expiredRules: 0, byRule: { vendor: 0, 'vendor #2': 1, 'catch-all port': 1 } });
  });

  it('an expired rule never matches and is counted once', () => {
    let now = Date.UTC(2027, 0, 31, 23, 59, 59);
    const rules = [
      { comment: 'until end of Jan 31 (UTC)', expires: '2027-01-31', port: 443 },
      { comment: 'until 18:00 CET', expires: '2027-02-01T18:00:00+01:00', port: 443 },
      { comment: 'forever', port: 8443 },
    ].map(parseSuppressionRule);
    const s = new Suppressions(rules, () => now);
    assert.equal(s.match(BASE), rules[0]);
    now = Date.UTC(2027, 1, 1, 0, 0, 0);
    assert.equal(s.match(BASE), rules[1]);
    assert.equal(s.stats.expiredRules, 1);
    now = Date.UTC(2027, 1, 1, 17, 0, 0); // 18:00 at +01:00
    assert.equal(s.match(BASE), undefined);
    assert.equal(s.match(BASE), undefined);
    assert.equal(s.match({ ...BASE, port: 8443 }), rules[2]);
    assert.equal(s.stats.expiredRules, 2);
    assert.equal(s.size, 1);
    assert.deepEqual(s.stats.byRule, { 'until end of Jan 31 (UTC)': 1, 'until 18:00 CET': 1, forever: 1 });
  });

  it('a rule already expired at construction is counted then', () => {
    const s = new Suppressions([parseSuppressionRule({ comment: 'old', expires: '2020-01-01', port: 443 })], () => T0);
    assert.equal(s.stats.expiredRules, 1);
    assert.equal(s.match(BASE), undefined);
  });
});

describe('classify/suppress parseSuppressionRule', () => {
  it('keeps the rule as written, a YAML number user as text, a port string as a number', () => {
    assert.deepEqual(parseSuppressionRule({ comment: ' why ', user: 0, port: '53', expires: '2027-01-31' }),
      { comment: 'why', user: '0', port: 53, expires: '2027-01-31' });
  });

  // [item, field or undefined, message pattern]
  const BAD: [unknown, string | undefined, RegExp][] = [
    [[], undefined, /expected a mapping/],
    [{ domain: 'x.example' }, undefined, /'comment' is required/],
    [{ comment: '', port: 1 }, 'comment', /non-empty/],
    [{ comment: 'c' }, undefined, /at least one of domain, domainGroup/],
    [{ comment: 'c', expires: '2027-01-31' }, undefined, /at least one of/],
    [{ comment: 'c', prot: 443 }, undefined, /unknown key 'prot'/],
    [{ comment: 'c', Domain: 'x.example' }, undefined, /did you mean 'domain'/],
    [{ comment: 'c', cidr: '10.0.0/8' }, 'cidr', /not a CIDR \(expected e\.g\. 10\.0\.0\.0\/8/],
    [{ comment: 'c', cidr: '10.0.0.0/33' }, 'cidr', /not a CIDR/],
    [{ comment: 'c', port: 0 }, 'port', /1-65535/],
    [{ comment: 'c', port: 70000 }, 'port', /1-65535/],
    [{ comment: 'c', port: 'https' }, 'port', /1-65535/],
    [{ comment: 'c', domain: 'a.*.example' }, 'domain', /'\*\.' only at the start/],
    [{ comment: 'c', domain: 'https://x.example/' }, 'domain', /expected a name/],
    [{ comment: 'c', software: '*' }, 'software', /names something/],
    [{ comment: 'c', image: '' }, 'image', /non-empty/],
    [{ comment: 'c', port: 1, expires: '2027-02-30' }, 'expires', /expected a date like/],
    [{ comment: 'c', port: 1, expires: '31/01/2027' }, 'expires', /expected a date like/],
    [{ comment: 'c', port: 1, expires: '2027-01-31T18:00:00' }, 'expires', /with an offset/],
    [{ comment: 'c', port: 1, expires: '2027-01-31T25:00:00Z' }, 'expires', /expected a date like/],
  ];
  for (const [item, field, re] of BAD) {
    it(`rejects ${JSON.stringify(item)}`, () => {
      assert.throws(() => parseSuppressionRule(item), (e: unknown) => {
        assert.ok(e instanceof RuleError);
        assert.equal(e.field, field);
        assert.match(e.message, re);
        return true;
      });
    });
  }

  it('parseExpiry: a date holds through that day (UTC); times need an offset', () => {
    assert.equal(parseExpiry('expires', '2027-01-31'), Date.UTC(2027, 1, 1));
    assert.equal(parseExpiry('expires', '2027-01-31T18:00:00Z'), Date.UTC(2027, 0, 31, 18));
    assert.equal(parseExpiry('expires', '2027-01-31T18:00+02:00'), Date.UTC(2027, 0, 31, 16));
    assert.equal(parseExpiry('expires', new Date(Date.UTC(2027, 0, 1))), Date.UTC(2027, 0, 1));
  });
});
