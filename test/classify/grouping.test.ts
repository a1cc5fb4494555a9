// Operator grouping rules: order, wildcard and regex forms, fallback to the built-in grouping,
// the bounded memo, and rejection of bad rules by the shared parser.
import assert from 'node:assert/strict';
import { DomainGrouper, RuleError, domainGroup, parseGroupingRule, type GroupingRule } from '../../lib/classify/index.js';

const RULES: GroupingRule[] = [
  { match: '*.blob.core.windows.net', group: 'blob.core.windows.net', comment: 'Azure storage accounts' },
  { match: 'login.microsoftonline.com', group: 'entra.microsoft' },
  { match: '/([a-z0-9-]+)\\.svc\\.partner\\.example/', group: '$1.partner.example' },
  { match: '/(?:eu|us)-(\\w+)\\.cdn\\.example\\.net/', group: 'cdn-$1.example.net' },
  { match: '/opt(x)?\\.example\\.org/', group: '$1' },
  { match: '*.s3.amazonaws.com', group: 'user-first.example' },
];

// [name, group, registered]
const CASES: [string, string, string | undefined][] = [
  ['acct1.blob.core.windows.net', 'blob.core.windows.net', 'blob.core.windows.net'],
  ['ACCT2.Blob.Core.Windows.Net.', 'blob.core.windows.net', 'blob.core.windows.net'],
  ['blob.core.windows.net', 'windows.net', 'windows.net'], // "*." excludes the suffix itself
  ['acct1.queue.core.windows.net', 'windows.net', 'windows.net'],
  ['login.microsoftonline.com', 'entra.microsoft', 'entra.microsoft'],
  ['x.login.microsoftonline.com', 'microsoftonline.com', 'microsoftonline.com'], // exact form only
  ['billing.svc.partner.example', 'billing.partner.example', 'billing.partner.example'],
  ['Billing.SVC.partner.example', 'billing.partner.example', 'billing.partner.example'],
  ['a.billing.svc.partner.example', 'partner.example', 'partner.example'], // anchored: no dots in $1
  ['eu-img.cdn.example.net', 'cdn-img.example.net', 'cdn-img.example.net'],
  ['ap-img.cdn.example.net', 'example.net', 'example.net'],
  ['optx.example.org', 'x', 'x'],
  ['opt.example.org', 'example.org', 'example.org'], // empty capture: built-in group
  ['bucket.s3.amazonaws.com', 'user-first.example', 'user-first.example'], // rules before AWS
  ['bucket.s3.us-east-1.amazonaws.com', 's3.amazonaws.com', 'amazonaws.com'],
  ['www.example.com', 'example.com', 'example.com'],
  ['192.0.2.7', '192.0.2.7', undefined],
  ['[2001:db8::7]', '2001:db8::7', undefined],
];

describe('classify/grouping DomainGrouper', () => {
  const g = new DomainGrouper(RULES);
  for (const [name, group, reg] of CASES) {
    it(`${name} → ${group} (registered ${String(reg)})`, () => {
      assert.equal(g.group(name), group);
      assert.equal(g.registered(name), reg);
      assert.equal(g.group(name), group, 'same answer from the memo');
    });
  }

  it('with no rules it is the built-in grouping', () => {
    const plain = new DomainGrouper([]);
    for (const [name] of CASES) assert.equal(plain.group(name), domainGroup(name), name);
  });

  it('takes the first matching rule', () => {
    const two = new DomainGrouper([
      { match: '*.example.com', group: 'first.example' },
      { match: 'www.example.com', group: 'second.example' },
    ]);
    assert.equal(two.group('www.example.com'), 'first.example');
  });

  it('bounds its memo and counts evictions', () => {
    const small = new DomainGrouper(RULES, { memoSize: 4 });
    for (let i = 0; i < 10; i++) small.group(`h${i}.example.com`);
    assert.equal(small.counters.memoEvictions, 6, '10 names, at most 4 held');
    assert.equal(small.group('h0.example.com'), 'example.com');
  });
});

describe('classify/grouping parseGroupingRule', () => {
  it('returns the rule as written (comment kept)', () => {
    assert.deepEqual(parseGroupingRule({ match: '*.x.example', group: 'x.example', comment: 'why' }),
      { match: '*.x.example', group: 'x.example', comment: 'why' });
  });

  // [item, field or undefined, message pattern]
  const BAD: [unknown, string | undefined, RegExp][] = [
    ['*.x.example', undefined, /expected a mapping/],
    [{ group: 'x' }, undefined, /'match' is required/],
    [{ match: '*.x.example' }, undefined, /'group' is required/],
    [{ match: '*.x.example', group: 'x', comentt: 'a' }, undefined, /unknown key 'comentt'.*did you mean 'comment'/],
    [{ match: 'a.*.example', group: 'x' }, 'match', /'\*\.' only at the start/],
    [{ match: '*', group: 'x' }, 'match', /expected a name/],
    [{ match: '', group: 'x' }, 'match', /non-empty/],
    [{ match: '/(unclosed/', group: 'x' }, 'match', /not a valid regular expression/],
    [{ match: '/(a)\\.example/', group: '$2.example' }, 'group', /\$2 refers to a capture group .* has 1/],
    [{ match: '*.x.example', group: '$1.example' }, 'group', /needs a \/regex\//],
    [{ match: '*.x.example', group: ['x'] }, 'group', /non-empty string/],
  ];
  for (const [item, field, re] of BAD) {
    it(`rejects ${JSON.stringify(item)}`, () => {
      assert.throws(() => parseGroupingRule(item), (e: unknown) => {
        assert.ok(e instanceof RuleError);
        assert.equal(e.field, field);
        assert.match(e.message, re);
        return true;
      });
    });
  }

  it('the constructor rejects what the parser rejects', () => {
    assert.throws(() => new DomainGrouper([{ match: '/[/', group: 'x' }]), RuleError);
  });
});
