// Collector reachability, when a collector URL is configured. The setting may not exist in
// every build (the forwarder's flag is added with the outputs wiring), so it is read by name
// from the configuration object rather than through its type.
import { errText, ok, warn, type CheckResult } from './types.js';

const TIMEOUT_MS = 5000;

/** The configured collector URL, under any of the names the setting may carry. */
export function collectorUrlOf(config: object): string | undefined {
  const c = config as Record<string, unknown>;
  for (const k of ['collectorUrl', 'collector', 'forwardUrl']) {
    const v = c[k];
    if (typeof v === 'string' && v !== '') return v;
    if (v instanceof URL) return v.href;
  }
  return undefined;
}

/**
 * Any HTTP answer (even 401 or 405 to our HEAD) proves the network path and TLS work; the
 * token and the payload are the forwarder's business. Unreachable is a warning: alerts are
 * spooled on disk until the collector answers.
 */
export async function checkCollector(url: string | undefined): Promise<CheckResult> {
  if (url === undefined) return ok('collector', 'not configured (no --collector-url): skipped');
  const fix = 'check the URL, DNS, proxy and firewall between this host and the collector; alerts are spooled until it answers';
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return warn('collector', `'${url}' is not a URL`, 'give --collector-url as https://HOST[:PORT]/PATH');
  }
  try {
    const res = await fetch(target, { method: 'HEAD', signal: AbortSignal.timeout(TIMEOUT_MS) });
    await res.body?.cancel();
    return ok('collector', `${target.origin} answered HTTP ${res.status}`);
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    return warn('collector', `${target.origin} not reachable: ${errText(cause ?? err)}`, fix);
  }
}
