// The small pattern languages of the operator's rule lists, parsed in one place so the config
// loader (which rejects a bad rule at start) and the matchers (which run it) cannot disagree.
//   domain pattern  "api.example.com" (that name only) or "*.example.com" (names under it,
//                   not example.com itself); compared after normalizeName().
//   regex           "/.../": anchored at both ends, case-insensitive, for grouping rules.
//   glob            "*" = any run of characters (including "/" and "."), the rest literal,
//                   case-sensitive: software ids are paths and image names are lower case.
//   expiry          "YYYY-MM-DD" (the rule holds through that day, UTC) or an ISO 8601 time
//                   with a Z or ±hh:mm offset (a time without one depends on the host's zone).
import { normalizeName } from './domain.js';

/** A rule the loader must reject: which field, the value written and what is wrong. */
export class RuleError extends Error {
  override readonly name = 'RuleError';
  /** The item's key ("cidr"), or undefined when the item as a whole is wrong. */
  readonly field: string | undefined;
  readonly value: unknown;
  readonly problem: string;

  constructor(field: string | undefined, value: unknown, problem: string) {
    super(field === undefined ? problem : `${field} '${String(value)}': ${problem}`);
    this.field = field;
    this.value = value;
    this.problem = problem;
  }
}

/** Letters, digits, "-", "_" (DNS carries _sip._tcp names) in non-empty dot-separated labels. */
const NAME_RE = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/;

export type NameTest = (normalizedName: string) => boolean;

/** Parses a domain pattern; throws RuleError naming `field`. */
export function domainPattern(field: string, raw: string): NameTest {
  const n = normalizeName(raw);
  const wild = n.startsWith('*.');
  const base = wild ? n.slice(2) : n;
  if (!NAME_RE.test(base)) {
    throw new RuleError(field, raw, "expected a name like 'api.example.com' or '*.example.com' ('*.' only at the start)");
  }
  if (!wild) return (name) => name === base;
  const tail = '.' + base;
  return (name) => name.endsWith(tail) && name.length > tail.length;
}

/** The body of a "/regex/" string, or undefined when `raw` is not written as one. */
export function regexBody(raw: string): string | undefined {
  return raw.length > 2 && raw.startsWith('/') && raw.endsWith('/') ? raw.slice(1, -1) : undefined;
}

/** Compiles a "/regex/" body anchored and case-insensitive; throws RuleError naming `field`. */
export function anchoredRegex(field: string, raw: string, body: string): RegExp {
  try {
    return new RegExp(`^(?:${body})$`, 'i');
  } catch (err) {
    throw new RuleError(field, raw, `not a valid regular expression (${(err as Error).message})`);
  }
}

/** Number of capture groups in `re` (an alternation with the empty string always matches). */
export function groupCount(re: RegExp): number {
  return (new RegExp(`${re.source}|`).exec('') as RegExpExecArray).length - 1;
}

/** A glob with "*" as its only wildcard, anchored, case-sensitive. */
export function globPattern(field: string, raw: string): (s: string) => boolean {
  if (raw.trim() === '' || /^\*+$/.test(raw)) {
    throw new RuleError(field, raw, "expected a pattern that names something, e.g. '/usr/bin/curl' or 'nginx:*'");
  }
  if (!raw.includes('*')) return (s) => s === raw;
  const re = new RegExp('^' + raw.split('*').map(escapeRegex).join('.*') + '$', 's');
  return (s) => re.test(s);
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/i;
const EXPIRY_FIX = "expected a date like '2027-01-31' or a time with an offset like '2027-01-31T18:00:00Z'";

function validDate(y: string, m: string, d: string): boolean {
  const t = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
  return t.getUTCFullYear() === Number(y) && t.getUTCMonth() === Number(m) - 1 && t.getUTCDate() === Number(d);
}

/** Milliseconds since the epoch at which a rule stops matching; throws RuleError naming `field`. */
export function parseExpiry(field: string, raw: unknown): number {
  if (raw instanceof Date && !Number.isNaN(raw.getTime())) return raw.getTime();
  const t = typeof raw === 'string' ? raw.trim() : '';
  const d = DATE_RE.exec(t);
  if (d && validDate(d[1], d[2], d[3])) return Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]) + 1);
  const m = TIME_RE.exec(t);
  if (m && validDate(m[1], m[2], m[3]) && Number(m[4]) < 24 && Number(m[5]) < 60 && Number(m[6] ?? 0) < 60
    && (m[7] === undefined || (Number(m[7]) < 24 && Number(m[8]) < 60))) {
    const ms = Date.parse(t);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new RuleError(field, raw instanceof Date ? 'Invalid Date' : raw, EXPIRY_FIX);
}

/** Rejects keys outside `allowed`, with a suggestion when a key is a near miss. */
export function checkKeys(item: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(item)) {
    if (allowed.includes(key)) continue;
    const lower = key.toLowerCase().replace(/[-_]/g, '');
    const near = allowed.find((a) => editDistance(a.toLowerCase(), lower) <= 2);
    const hint = near ? ` (did you mean '${near}'?)` : '';
    throw new RuleError(undefined, undefined, `unknown key '${key}'${hint}; the keys are ${allowed.join(', ')}`);
  }
}

/** Levenshtein distance, for "did you mean" on short keys (also used by the config loader). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_v, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** The item as a plain mapping, or a RuleError. */
export function asItem(raw: unknown, example: string): Record<string, unknown> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || raw instanceof Date) {
    throw new RuleError(undefined, raw, `expected a mapping like ${example}`);
  }
  return raw as Record<string, unknown>;
}

/** A non-empty string field (numbers are taken as their text); undefined when absent. */
export function textField(item: Record<string, unknown>, key: string, required = false): string | undefined {
  const v = item[key];
  if (v === undefined || v === null) {
    if (required) throw new RuleError(undefined, undefined, `'${key}' is required`);
    return undefined;
  }
  const t = typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
  if (t === '') throw new RuleError(key, typeof v === 'string' ? v : JSON.stringify(v), 'expected a non-empty string');
  return t;
}
