// The two rule lists of the config file (groupingRules, suppressions). Each item is checked
// by the parser its stage runs (lib/classify), so the loader and the matcher agree on what a
// rule means; a bad item fails the start with its list index and key named, e.g.
// "invalid suppressions[2].cidr '10.0.0/8' in /etc/egresswatch.yaml: not a CIDR (...)".
import { RuleError, parseGroupingRule, parseSuppressionRule } from '../classify/index.js';
import type { GroupingRule, SuppressionRule } from '../classify/index.js';
import { ConfigError } from './error.js';

export function toGroupingRules(raw: unknown, label: string): GroupingRule[] {
  return items(raw, label, parseGroupingRule, "- { match: '*.blob.core.windows.net', group: 'blob.core.windows.net' }");
}

export function toSuppressions(raw: unknown, label: string): SuppressionRule[] {
  return items(raw, label, parseSuppressionRule, "- { comment: 'backup target', domain: '*.backup.example.com' }");
}

function items<T>(raw: unknown, label: string, parse: (item: unknown) => T, example: string): T[] {
  const [key, ...rest] = label.split(' in ');
  const where = rest.length > 0 ? ` in ${rest.join(' in ')}` : '';
  if (!Array.isArray(raw)) {
    const fix = `write a YAML list of rules, e.g. ${example}`;
    throw new ConfigError(`invalid ${key}${where}: expected a list of rules (fix: ${fix})`, key, fix);
  }
  return raw.map((item, i) => {
    try {
      return parse(item);
    } catch (err) {
      if (!(err instanceof RuleError)) throw err;
      const name = err.field === undefined ? `${key}[${i}]` : `${key}[${i}].${err.field}`;
      const shown = err.field === undefined ? '' : ` '${show(err.value)}'`;
      throw new ConfigError(`invalid ${name}${shown}${where}: ${err.problem}`, key, err.problem);
    }
  });
}

function show(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return s.includes('\n') ? JSON.stringify(s) : s;
}
