// RFC 5424 syslog messages for alerts, and RFC 6587 §3.4.1 octet-counting frames.
//
//   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [egresswatch@32473 id=".." group=".." novel=".."] MSG
//
// Choices (docs/forwarding.md repeats them for operators):
// - Facility 10 (authpriv), severity 4 (warning): PRI 84. An alert carries command lines and
//   user names, and relays route authpriv to restricted files (Debian: /var/log/auth.log, 0640)
//   rather than world-readable ones; 13 (log audit) is the closer word but most relay configs
//   send it to the general log. Both are options.
// - MSG is the alert JSON with every non-ASCII character written as \uXXXX. The JSON stays
//   the same value, and MSG is then pure ASCII (MSG-ANY in §6.4), which needs no BOM: many
//   receivers keep a BOM in the text and their JSON parsers then fail. `bom: true` sends
//   UTF-8 with the BOM instead (MSG-UTF8), as §6.4 asks of UTF-8 text.
// - SD-ID egresswatch@32473: 32473 is the private enterprise number that RFC 5612 reserves
//   for documentation and examples; a site with its own number can set `sdId`.

/** Facility numbers of RFC 5424 §6.2.1 that make sense for security alerts. */
export const FACILITY = { auth: 4, authpriv: 10, logAudit: 13, local0: 16 } as const;
export const DEFAULT_FACILITY = FACILITY.authpriv;
/** Severity 4, warning: a new destination is a thing to look at, not an outage. */
export const DEFAULT_SEVERITY = 4;
export const DEFAULT_SD_ID = 'egresswatch@32473';
export const MSGID_NEW_EXTERNAL = 'NEWEXT';
const NILVALUE = '-';
const BOM = '\u{FEFF}';

export class SyslogFormatError extends Error {
  override name = 'SyslogFormatError';
}

export interface Rfc5424Options {
  hostName: string;
  appName?: string;
  procId?: string;
  msgId?: string;
  facility?: number;
  severity?: number;
  sdId?: string;
  bom?: boolean;
}

/** Header field limits of RFC 5424 §6 (ABNF: 1*255 / 1*48 / 1*128 / 1*32 PRINTUSASCII). */
const HEADER_LIMITS = { HOSTNAME: 255, 'APP-NAME': 48, PROCID: 128, MSGID: 32 } as const;

/** PRINTUSASCII is %d33-126: no space, no control characters, nothing beyond ASCII. */
export function isPrintUsAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 33 || c > 126) return false;
  }
  return true;
}

/**
 * Checks a header field against §6 and returns it, or NILVALUE for an empty optional field.
 * A bad field is configuration (host name, app name), so it throws at start-up with the field
 * named, rather than sending a message a relay would misparse.
 */
export function headerField(name: keyof typeof HEADER_LIMITS, value: string | undefined, required = false): string {
  if (value === undefined || value === '') {
    if (required) throw new SyslogFormatError(`syslog ${name} must not be empty`);
    return NILVALUE;
  }
  const max = HEADER_LIMITS[name];
  if (value.length > max || !isPrintUsAscii(value)) {
    throw new SyslogFormatError(`syslog ${name} ${JSON.stringify(value)} is not 1..${max} printable ASCII characters `
      + '(RFC 5424 §6: no spaces or non-ASCII; fix: set an ASCII host name, e.g. the punycode form)');
  }
  return value;
}

/** PRI = facility * 8 + severity (§6.2.1), both range-checked. */
export function priority(facility: number, severity: number): number {
  if (!Number.isInteger(facility) || facility < 0 || facility > 23) {
    throw new SyslogFormatError(`syslog facility ${facility} is not an integer 0..23`);
  }
  if (!Number.isInteger(severity) || severity < 0 || severity > 7) {
    throw new SyslogFormatError(`syslog severity ${severity} is not an integer 0..7`);
  }
  return facility * 8 + severity;
}

// §6.2.3: FULL-DATE "T" FULL-TIME, at most 6 fraction digits, "Z" or a numeric offset.
const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

/** The alert's @timestamp if it is a valid RFC 5424 TIMESTAMP, else NILVALUE (§6.2.3.2). */
export function timestampField(value: unknown): string {
  if (typeof value !== 'string' || !TIMESTAMP_RE.test(value)) return NILVALUE;
  return Number.isNaN(Date.parse(value)) ? NILVALUE : value;
}

/**
 * PARAM-VALUE escaping (§6.3.3): `"`, `\` and `]` get a backslash. Control characters are
 * dropped as well: the RFC allows them, but relays rewrite them (rsyslog: #ooo) and a newline
 * would end the message for any receiver that falls back to line framing.
 */
export function escapeSdParam(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f]/g, '').replace(/["\\\]]/g, '\\$&');
}

/**
 * JSON with every character above 0x7E written as \uXXXX: same value, ASCII-only text. `json`:
 * the value's JSON.stringify text when the caller has it (a spooled alert's).
 */
export function asciiJson(value: unknown, json: string = JSON.stringify(value)): string {
  return json.replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

function get(obj: unknown, ...keys: string[]): unknown {
  let cur = obj;
  for (const k of keys) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function structuredData(alert: Record<string, unknown>, sdId: string): string {
  const params: string[] = [];
  const add = (name: string, v: unknown): void => {
    if (typeof v === 'string' && v !== '') params.push(`${name}="${escapeSdParam(v)}"`);
  };
  add('id', get(alert, 'event', 'id'));
  add('group', get(alert, 'egresswatch', 'domain_group'));
  const novel = get(alert, 'egresswatch', 'novel_for');
  if (Array.isArray(novel)) add('novel', novel.filter((x) => typeof x === 'string').join(','));
  return params.length === 0 ? NILVALUE : `[${sdId} ${params.join(' ')}]`;
}

/**
 * One alert as an RFC 5424 message (no framing, no trailing newline). `json`: the alert's
 * JSON.stringify text when the caller has it (the spool keeps it): not made again.
 */
export function formatRfc5424(alert: Record<string, unknown>, opts: Rfc5424Options, json?: string): string {
  const pri = priority(opts.facility ?? DEFAULT_FACILITY, opts.severity ?? DEFAULT_SEVERITY);
  const sdId = opts.sdId ?? DEFAULT_SD_ID;
  if (!/^[!#-<>-\\^-~]{1,32}$/.test(sdId)) throw new SyslogFormatError(`syslog SD-ID ${JSON.stringify(sdId)} is not a valid SD-NAME`);
  const header = [
    `<${pri}>1`,
    timestampField(alert['@timestamp']),
    headerField('HOSTNAME', opts.hostName, true),
    headerField('APP-NAME', opts.appName ?? 'egresswatch'),
    headerField('PROCID', opts.procId),
    headerField('MSGID', opts.msgId ?? MSGID_NEW_EXTERNAL),
    structuredData(alert, sdId),
  ].join(' ');
  const text = json ?? JSON.stringify(alert);
  const msg = opts.bom ? BOM + text : asciiJson(alert, text);
  return `${header} ${msg}`;
}

/** RFC 6587 §3.4.1 octet counting: `MSG-LEN SP SYSLOG-MSG`, the length in octets. */
export function frameOctetCounted(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
