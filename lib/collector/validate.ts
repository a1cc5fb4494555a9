// Schema check of one NDJSON line of an alert batch: a JSON object with the fields the
// collector relies on (dedup key, time, host, domain group). Fields may be nested ECS objects
// ({"event":{"id":...}}) or dotted keys ({"event.id":...}); both are valid ECS JSON.

/** The value at an ECS path, nested or dotted. */
export function field(obj: Record<string, unknown>, dotted: string): unknown {
  if (dotted in obj) return obj[dotted];
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

const REQUIRED = ['event.id', 'host.name', 'egresswatch.domain_group'];

/** Parses and checks one line; returns the alert or an error message naming the problem. */
export function validateLine(line: string): Record<string, unknown> | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    return `not JSON (${(err as Error).message})`;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'not a JSON object';
  const alert = v as Record<string, unknown>;
  for (const f of REQUIRED) {
    const x = field(alert, f);
    if (typeof x !== 'string' || x === '') return `${f} must be a non-empty string`;
  }
  const ts = field(alert, '@timestamp');
  if (typeof ts !== 'string' || Number.isNaN(Date.parse(ts))) return '@timestamp must be an ISO 8601 date string';
  return alert;
}

/** Validates a whole NDJSON body; blank lines are skipped. Errors name the 1-based line. */
export function parseBatch(text: string): { alerts: Record<string, unknown>[] } | { error: string } {
  const alerts: Record<string, unknown>[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const r = validateLine(line);
    if (typeof r === 'string') return { error: `line ${i + 1}: ${r}` };
    alerts.push(r);
  }
  return { alerts };
}
