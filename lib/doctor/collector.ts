// Collector reachability, for each configured --collector-url. The settings are read by name
// from the configuration object (this module does not depend on the forwarder's types), with
// the TLS files the forwarder would use, so a private CA does not read as "unreachable".
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { errText, ok, warn, type CheckResult } from './types.js';

const TIMEOUT_MS = 5000;

export interface CollectorTarget {
  url: string;
  /** PEM file paths: CA to verify the collector, client certificate and key. */
  ca?: string;
  cert?: string;
  key?: string;
}

/** The configured collectors (collectorUrls, or a single collectorUrl) with their TLS files. */
export function collectorTargetsOf(config: object): CollectorTarget[] {
  const c = config as Record<string, unknown>;
  const urls = ([] as unknown[]).concat(c.collectorUrls ?? [], c.collectorUrl ?? [])
    .map((u) => (u instanceof URL ? u.href : u)).filter((u): u is string => typeof u === 'string' && u !== '');
  const file = (k: string): string | undefined => (typeof c[k] === 'string' && c[k] !== '' ? c[k] as string : undefined);
  return urls.map((url) => ({ url, ca: file('collectorCa'), cert: file('collectorCert'), key: file('collectorKey') }));
}

/**
 * Any HTTP answer (even 401 or 405 to our HEAD) proves the network path and TLS work; the
 * token and the payload are the forwarder's business. Unreachable is a warning: alerts are
 * spooled on disk until the collector answers.
 */
export async function checkCollector(target: CollectorTarget | undefined): Promise<CheckResult> {
  if (target === undefined) return ok('collector', 'not configured (no --collector-url): skipped');
  const fix = 'check the URL, DNS, proxy, firewall and --collector-ca between this host and the collector; alerts are spooled until it answers';
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    return warn('collector', `'${target.url}' is not a URL`, 'give --collector-url as https://HOST[:PORT]/PATH');
  }
  try {
    const status = await head(url, target);
    return ok('collector', `${url.origin} answered HTTP ${status}`);
  } catch (err) {
    return warn('collector', `${url.origin} not reachable: ${errText(err)}`, fix);
  }
}

function head(url: URL, t: CollectorTarget): Promise<number> {
  const tls = url.protocol === 'https:'
    ? { ca: t.ca && fs.readFileSync(t.ca), cert: t.cert && fs.readFileSync(t.cert), key: t.key && fs.readFileSync(t.key) }
    : {};
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { method: 'HEAD', timeout: TIMEOUT_MS, ...tls }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}
