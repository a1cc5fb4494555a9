// Operator grouping rules, tried in order before the built-in grouping (AWS by service, then
// eTLD+1): some providers hand every customer a name under a suffix that is not on the
// Public Suffix List (*.blob.core.windows.net is grouped as windows.net by eTLD+1, which
// merges every Azure service), or a site wants its own partners grouped by a regex.
import { GenerationMemo } from '../collections/index.js';
import { groupAndRegistered, isIp, normalizeName } from './domain.js';
import {
  RuleError, anchoredRegex, asItem, checkKeys, domainPattern, groupCount, regexBody, textField, type NameTest,
} from './patterns.js';

/** One rule as the config file writes it (`groupingRules:` list item). */
export interface GroupingRule {
  /** "*.x.y" (names under x.y), "x.y" (that name) or "/regex/" (anchored, case-insensitive). */
  match: string;
  /** The group; for a regex, "$1".."$9" are replaced by the capture groups. */
  group: string;
  comment?: string;
}

const KEYS = ['match', 'group', 'comment'] as const;
const EXAMPLE = "{ match: '*.blob.core.windows.net', group: 'blob.core.windows.net' }";

interface Compiled {
  rule: GroupingRule;
  /** The group for a normalised name, or undefined when the rule does not apply. */
  apply: (name: string) => string | undefined;
}

/** Validates one list item and returns it as a GroupingRule; throws RuleError. */
export function parseGroupingRule(raw: unknown): GroupingRule {
  const item = asItem(raw, EXAMPLE);
  checkKeys(item, KEYS);
  const match = textField(item, 'match', true) as string;
  const group = textField(item, 'group', true) as string;
  const comment = textField(item, 'comment');
  const rule: GroupingRule = comment === undefined ? { match, group } : { match, group, comment };
  compile(rule);
  return rule;
}

function compile(rule: GroupingRule): Compiled {
  const body = regexBody(rule.match);
  if (body === undefined) {
    const test: NameTest = domainPattern('match', rule.match);
    if (rule.group.includes('$')) {
      throw new RuleError('group', rule.group, "'$n' needs a /regex/ match; a wildcard match has no capture groups");
    }
    const group = normalizeName(rule.group);
    return { rule, apply: (name) => (test(name) ? group : undefined) };
  }
  const re = anchoredRegex('match', rule.match, body);
  const groups = groupCount(re);
  for (const m of rule.group.matchAll(/\$(\d)/g)) {
    if (Number(m[1]) > groups) {
      throw new RuleError('group', rule.group, `$${m[1]} refers to a capture group the regex does not have (it has ${groups})`);
    }
  }
  return {
    rule,
    apply: (name) => {
      const m = re.exec(name);
      if (m === null) return undefined;
      const g = normalizeName(rule.group.replace(/\$(\d)/g, (_s, d: string) => m[Number(d)] ?? ''));
      return g === '' ? undefined : g; // an empty optional capture: fall back to the built-in group
    },
  };
}

/**
 * 4096 names: a busy host contacts a few hundred distinct names a day; the memo only spares
 * the rule scan, tldts and the AWS parse for names seen again, at about 200 bytes per entry.
 */
export const DEFAULT_GROUPER_MEMO_SIZE = 4096;

interface Memo {
  group: string;
  registered: string | undefined;
}

/** Domain grouping with the operator's rules first; bounded memo per name. */
export class DomainGrouper {
  private readonly memo: GenerationMemo<string, Memo>;
  private readonly rules: Compiled[];

  constructor(rules: readonly GroupingRule[], opts: { memoSize?: number } = {}) {
    this.rules = rules.map((r) => compile(r));
    this.memo = new GenerationMemo(opts.memoSize ?? DEFAULT_GROUPER_MEMO_SIZE);
  }

  /** The domain group of a name (or IP text): first matching rule, else domainGroup(). */
  group(name: string): string {
    return this.lookup(name).group;
  }

  /**
   * The registrable unit of a name: a matching rule's group (the operator said what the
   * unit is), else the eTLD+1 as registeredDomain() gives it.
   */
  registered(name: string): string | undefined {
    return this.lookup(name).registered;
  }

  /** Counters for metrics: memoEvictions, names dropped from the memo (least recently used first, by generation). */
  get counters(): { memoEvictions: number } {
    return { memoEvictions: this.memo.evictions };
  }

  /** group() and registered() in one memo lookup. */
  lookup(name: string): Readonly<Memo> {
    const hit = this.memo.get(name);
    if (hit !== undefined) return hit;
    const n = normalizeName(name);
    let out: Memo | undefined;
    for (const r of isIp(n) ? [] : this.rules) {
      const g = r.apply(n);
      if (g !== undefined) {
        out = { group: g, registered: g };
        break;
      }
    }
    out ??= groupAndRegistered(n);
    this.memo.set(name, out);
    return out;
  }
}
