// Operator suppression rules: a known-good destination (a vendor's update host, a backup
// target) that should not alert. Every matcher given must match (AND); a rule needs at least
// one matcher besides its comment and expiry, so no rule silences everything by accident. The
// comment is required because a silenced alert needs a reason someone can read later. An
// expired rule stops matching on its own, so a temporary exception cannot outlive its reason.
import { cidrTest } from './address.js';
import { normalizeName } from './domain.js';
import {
  RuleError, asItem, checkKeys, domainPattern, globPattern, parseExpiry, textField,
} from './patterns.js';

/** One rule as the config file writes it (`suppressions:` list item). */
export interface SuppressionRule {
  /** Why the rule exists (required); also the rule's key in stats.byRule. */
  comment: string;
  /** "YYYY-MM-DD" (holds through that day, UTC) or an ISO time with Z / offset. */
  expires?: string;
  /** "api.example.com" (that name) or "*.example.com" (names under it). */
  domain?: string;
  /** Exact domain group, e.g. "s3.amazonaws.com". */
  domainGroup?: string;
  /** Glob ("*" wildcard) on the software id or the software key. */
  software?: string;
  /** User name, or a uid written as digits (then the name matches too). */
  user?: string;
  /** Destination CIDR; a bare address is a host prefix. */
  cidr?: string;
  /** Destination port. */
  port?: number;
  /** Glob on the container image name. */
  image?: string;
  /** Glob on the systemd unit the process runs in ("backup.service", "session-*.scope"). */
  unit?: string;
}

/** What a connection offers the rules; absent fields never match a rule that names them. */
export interface SuppressionCandidate {
  domain?: string;
  domainGroup: string;
  softwareId?: string;
  softwareKey?: string;
  userName?: string;
  uid?: number;
  ip: string;
  port: number;
  image?: string;
  unit?: string;
}

export interface SuppressionStats {
  /** Connections a rule matched. */
  suppressed: number;
  /** Rules found past their expiry (each counted once). */
  expiredRules: number;
  /** Matches per rule, keyed by the rule's comment (" #2", " #3" appended to repeats). */
  byRule: Record<string, number>;
}

const MATCHERS = ['domain', 'domainGroup', 'software', 'user', 'cidr', 'port', 'image', 'unit'] as const;
const KEYS = ['comment', 'expires', ...MATCHERS] as const;
const EXAMPLE = "{ comment: 'nightly backup', domain: '*.backup.example.com', port: 443 }";

type Test = (c: SuppressionCandidate) => boolean;

interface Compiled {
  rule: SuppressionRule;
  key: string;
  expiresAt: number | undefined;
  tests: Test[];
}

/** Validates one list item and returns it as a SuppressionRule; throws RuleError. */
export function parseSuppressionRule(raw: unknown): SuppressionRule {
  const item = asItem(raw, EXAMPLE);
  checkKeys(item, KEYS);
  const rule: SuppressionRule = { comment: textField(item, 'comment', true) as string };
  if (item.expires !== undefined && item.expires !== null) {
    parseExpiry('expires', item.expires);
    rule.expires = item.expires instanceof Date ? item.expires.toISOString() : String(item.expires).trim();
  }
  for (const k of ['domain', 'domainGroup', 'software', 'user', 'cidr', 'image', 'unit'] as const) {
    const v = textField(item, k);
    if (v !== undefined) rule[k] = v;
  }
  if (item.port !== undefined && item.port !== null) rule.port = toPort(item.port);
  if (!MATCHERS.some((k) => rule[k] !== undefined)) {
    throw new RuleError(undefined, undefined, `give at least one of ${MATCHERS.join(', ')} (a rule with none would silence every alert)`);
  }
  compile(rule, '');
  return rule;
}

function toPort(raw: unknown): number {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new RuleError('port', raw, 'expected a port number 1-65535');
  return n;
}

function compile(rule: SuppressionRule, key: string): Compiled {
  const tests: Test[] = [];
  if (rule.domain !== undefined) {
    const t = domainPattern('domain', rule.domain);
    tests.push((c) => c.domain !== undefined && t(normalizeName(c.domain)));
  }
  if (rule.domainGroup !== undefined) {
    const g = normalizeName(rule.domainGroup);
    tests.push((c) => c.domainGroup === g);
  }
  if (rule.software !== undefined) {
    const t = globPattern('software', rule.software);
    tests.push((c) => (c.softwareId !== undefined && t(c.softwareId)) || (c.softwareKey !== undefined && t(c.softwareKey)));
  }
  if (rule.user !== undefined) tests.push(userTest(rule.user));
  if (rule.cidr !== undefined) {
    const t = cidrTest(rule.cidr);
    if (t === undefined) throw new RuleError('cidr', rule.cidr, 'not a CIDR (expected e.g. 10.0.0.0/8 or 2001:db8::/32)');
    tests.push((c) => t(c.ip));
  }
  if (rule.port !== undefined) {
    const p = toPort(rule.port);
    tests.push((c) => c.port === p);
  }
  if (rule.image !== undefined) {
    const t = globPattern('image', rule.image);
    tests.push((c) => c.image !== undefined && t(c.image));
  }
  if (rule.unit !== undefined) {
    const t = globPattern('unit', rule.unit);
    tests.push((c) => c.unit !== undefined && t(c.unit));
  }
  const expiresAt = rule.expires === undefined ? undefined : parseExpiry('expires', rule.expires);
  return { rule, key, expiresAt, tests };
}

function userTest(user: string): Test {
  if (!/^\d+$/.test(user)) return (c) => c.userName === user;
  const uid = Number(user);
  return (c) => c.uid === uid || c.userName === user;
}

/** The operator's suppression rules, first match wins; `now` is the injected clock (ms). */
export class Suppressions {
  readonly stats: SuppressionStats = { suppressed: 0, expiredRules: 0, byRule: {} };
  private active: Compiled[];
  private readonly now: () => number;
  private nextExpiry = Infinity;

  constructor(rules: readonly SuppressionRule[], now: () => number) {
    this.now = now;
    const seen = new Map<string, number>();
    this.active = rules.map((r) => {
      const n = (seen.get(r.comment) ?? 0) + 1;
      seen.set(r.comment, n);
      const key = n === 1 ? r.comment : `${r.comment} #${n}`;
      this.stats.byRule[key] = 0;
      return compile(r, key);
    });
    this.expire(now());
  }

  /** Rules not yet expired (as of the last match or construction). */
  get size(): number {
    return this.active.length;
  }

  /** The first live rule whose every matcher matches `c`, counted; else undefined. */
  match(c: SuppressionCandidate): SuppressionRule | undefined {
    if (this.active.length === 0) return undefined;
    if (this.nextExpiry !== Infinity) this.expire(this.now());
    for (const r of this.active) {
      if (!r.tests.every((t) => t(c))) continue;
      this.stats.suppressed++;
      this.stats.byRule[r.key]++;
      return r.rule;
    }
    return undefined;
  }

  /** Drops rules whose expiry has passed; the clock is read only while some rule can expire. */
  private expire(at: number): void {
    if (at < this.nextExpiry && this.nextExpiry !== Infinity) return;
    const live = this.active.filter((r) => r.expiresAt === undefined || at < r.expiresAt);
    this.stats.expiredRules += this.active.length - live.length;
    this.active = live;
    this.nextExpiry = Math.min(Infinity, ...live.map((r) => r.expiresAt ?? Infinity));
  }
}
