// Turns one raw value (a flag string or array, an env string, a YAML scalar or sequence)
// into the typed value of its setting, or throws a ConfigError that names the setting,
// where the value came from and what a good value looks like.
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { canonicalAddress } from '../decode/index.js';
import { invalidValue } from './error.js';
import { toGroupingRules, toSuppressions } from './rules.js';
import type { SettingSpec } from './settings.js';
import { LOG_LEVELS, type ListenAddress } from './types.js';
import { DURATION_FIX, formatDuration, formatSize, parseDuration, parseSize } from './units.js';

/** `label`: how the operator wrote the setting; `baseDir`: base of relative paths. */
export interface Origin { label: string; baseDir: string }

export function coerce(spec: SettingSpec, raw: unknown, at: Origin): unknown {
  switch (spec.kind) {
    case 'duration': return bounded(spec, toDuration(raw, at.label), raw, at.label, formatDuration);
    case 'size': return bounded(spec, toSize(raw, at.label), raw, at.label, formatSize);
    case 'count': return bounded(spec, toCount(raw, at.label), raw, at.label, String);
    case 'text': return toText(raw, at.label);
    case 'path': return path.resolve(at.baseDir, toText(raw, at.label));
    case 'bool': return toBool(raw, at.label);
    case 'switch': return toBool(raw, at.label);
    case 'urls': return listItems(raw, at.label).map((u) => toUrl(u, at.label));
    case 'format': return toFormat(raw, at.label);
    case 'logFormat': {
      const t = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
      if (t !== 'auto' && t !== 'json' && t !== 'text') throw invalidValue(at.label, raw, 'expected auto, json or text');
      return t;
    }
    case 'logLevel': return toLogLevel(raw, at.label);
    case 'interfaces': return toInterfaces(raw, at.label);
    case 'cidrs': return listItems(raw, at.label).map((c) => toCidr(c, at.label));
    case 'ports': return toPorts(raw, at.label);
    case 'listen': return parseListen(toText(raw, at.label), at.label);
    case 'endpoints': return listItems(raw, at.label).map((e) => toEndpoint(e, at.label));
    case 'groupingRules': return toGroupingRules(raw, at.label);
    case 'suppressions': return toSuppressions(raw, at.label);
  }
}

function bounded(spec: SettingSpec, n: number, raw: unknown, label: string, fmt: (n: number) => string): number {
  const lo = spec.min ?? 0;
  const hi = spec.max ?? Number.MAX_SAFE_INTEGER;
  if (n < lo || n > hi) throw invalidValue(label, raw, `must be between ${fmt(lo)} and ${fmt(hi)}`);
  return n;
}

function toDuration(raw: unknown, label: string): number {
  if (raw === 0) return 0;
  if (typeof raw === 'number') throw invalidValue(label, raw, `${DURATION_FIX} (a unit is required)`);
  if (typeof raw !== 'string') throw invalidValue(label, raw, DURATION_FIX);
  return parseDuration(raw, label);
}

function toSize(raw: unknown, label: string): number {
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) return raw;
  return parseSize(typeof raw === 'string' ? raw : JSON.stringify(raw), label);
}

function toCount(raw: unknown, label: string): number {
  const t = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : '';
  if (!/^\d+$/.test(t) || !Number.isSafeInteger(Number(t))) throw invalidValue(label, raw, 'expected a whole number');
  return Number(t);
}

function toText(raw: unknown, label: string): string {
  const t = typeof raw === 'string' ? raw.trim() : typeof raw === 'number' ? String(raw) : '';
  if (t === '') throw invalidValue(label, raw, 'expected a non-empty string');
  return t;
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

function toBool(raw: unknown, label: string): boolean {
  if (typeof raw === 'boolean') return raw;
  const t = String(raw).trim().toLowerCase();
  if (TRUE.has(t)) return true;
  if (FALSE.has(t)) return false;
  throw invalidValue(label, raw, 'expected true or false');
}

function toLogLevel(raw: unknown, label: string): string {
  const t = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  if (!(LOG_LEVELS as readonly string[]).includes(t)) {
    throw invalidValue(label, raw, `expected one of ${LOG_LEVELS.join(', ')}`);
  }
  return t;
}

/** A YAML sequence, a repeated flag or a comma-separated string, flattened and trimmed. */
function listItems(raw: unknown, label: string): string[] {
  const parts = Array.isArray(raw) ? raw : [raw];
  const out: string[] = [];
  for (const p of parts) {
    if (typeof p !== 'string' && typeof p !== 'number') throw invalidValue(label, raw, 'expected a list of strings');
    for (const item of String(p).split(',')) {
      const t = item.trim();
      if (t !== '' && !out.includes(t)) out.push(t);
    }
  }
  return out;
}

// Linux dev_valid_name(): 1..15 bytes (IFNAMSIZ 16 with the NUL), no '/', ':' or whitespace.
const IFNAME_RE = /^[^/:\s]{1,15}$/;

function toInterfaces(raw: unknown, label: string): string[] {
  const names = listItems(raw, label);
  if (names.length === 0) throw invalidValue(label, raw, "expected at least one interface name, or 'any'");
  for (const n of names) {
    if (!IFNAME_RE.test(n) || n === '.' || n === '..') {
      throw invalidValue(label, n, "expected an interface name of 1-15 characters without '/', ':' or spaces");
    }
  }
  if (names.length > 1 && names.includes('any')) {
    throw invalidValue(label, names.join(','), "'any' already covers every interface: give 'any' alone or list interfaces");
  }
  return names;
}

function toCidr(text: string, label: string): string {
  // Four-part decimal only: ipaddr.js would also take "10/8" or octal "010.0.0.0/8".
  const ok = text.includes(':') ? ipaddr.IPv6.isValidCIDR(text) : ipaddr.IPv4.isValidCIDRFourPartDecimal(text);
  if (!ok) {
    throw invalidValue(label, text, 'expected a CIDR like 10.0.0.0/8 or 2001:db8::/32 (a single address is /32 or /128)');
  }
  return text;
}

function toPorts(raw: unknown, label: string): number[] {
  const items = listItems(raw, label);
  if (items.length === 0) throw invalidValue(label, raw, 'expected at least one port');
  return items.map((p) => {
    const n = /^\d+$/.test(p) ? Number(p) : NaN;
    if (!(n >= 1 && n <= 65535)) throw invalidValue(label, p, 'expected a port number 1-65535');
    return n;
  });
}

const LISTEN_FIX = 'expected HOST:PORT like 127.0.0.1:9500 or [::1]:9500, port 1-65535';

/** "127.0.0.1:9500", "localhost:9500", "[::1]:9500" → { host, port } (IPv6 without brackets). */
export function parseListen(text: string, label: string): ListenAddress {
  const hp = splitHostPort(text);
  if (!hp) throw invalidValue(label, text, LISTEN_FIX);
  const { host, port, bracketed } = hp;
  if (bracketed && !ipaddr.IPv6.isValid(host)) throw invalidValue(label, text, LISTEN_FIX);
  if (/^[\d.]+$/.test(host) && !ipaddr.IPv4.isValidFourPartDecimal(host)) throw invalidValue(label, text, LISTEN_FIX);
  return { host, port };
}

/** HOST:PORT or [HOST]:PORT with a port from 1 to 65535; undefined otherwise. `bracketed`: the host was in brackets. */
function splitHostPort(text: string): { host: string; port: number; bracketed: boolean } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535) return undefined;
  return { host: m[1] ?? m[2], port, bracketed: m[1] !== undefined };
}

const ENDPOINT_FIX = 'expected an IP address and port like 10.0.0.8:3128 or [2001:db8::8]:3128 (an address, not a name: packets are matched on it)';

/** IP:PORT or [IPv6]:PORT, the address in the text the agent prints packet addresses in. */
function toEndpoint(raw: string, label: string): ListenAddress {
  const hp = splitHostPort(raw);
  if (!hp) throw invalidValue(label, raw, ENDPOINT_FIX);
  // In brackets an IPv6 address, bare an IPv4 one; in the text packet addresses are printed in.
  const canonical = canonicalAddress(hp.host);
  if (canonical === undefined || hp.bracketed !== canonical.includes(':')) throw invalidValue(label, raw, ENDPOINT_FIX);
  return { host: canonical, port: hp.port };
}

const URL_SCHEMES = new Set(['http:', 'https:', 'tcp:', 'tls:']);

/** A forwarding URL: http(s) for collectors, tcp/tls for syslog; a host is required. */
function toUrl(raw: string, label: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw invalidValue(label, raw, 'expected a URL like https://collector.example.com/api/alerts or tcp://syslog.example.com:6514');
  }
  if (!URL_SCHEMES.has(u.protocol) || u.hostname === '') {
    throw invalidValue(label, raw, 'expected an http(s):// collector URL or a tcp:// or tls:// syslog address with a host');
  }
  if ((u.protocol === 'tcp:' || u.protocol === 'tls:') && u.port === '') {
    throw invalidValue(label, raw, 'a syslog address needs a port, e.g. tls://syslog.example.com:6514');
  }
  return raw;
}

function toFormat(raw: unknown, label: string): string {
  const t = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  if (t !== 'ecs' && t !== 'ocsf') throw invalidValue(label, raw, 'expected ecs or ocsf');
  return t;
}
