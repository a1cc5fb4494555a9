// One POST of an NDJSON batch to the collector over HTTP or HTTPS (optionally mutual TLS),
// with a keep-alive agent reused across batches. The response body is read but capped: we
// only keep it for a log line.
import http from 'node:http';
import https from 'node:https';
import { readTlsFiles } from './tls-files.js';

export interface PostTls {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface PostResult {
  status: number;
  retryAfter?: string;
  body: string;
}

/** Response bytes kept for logging. */
const BODY_KEEP = 4096;

export class ConfigFileError extends Error {
  override name = 'ConfigFileError';
}

export class Poster {
  private readonly agent: http.Agent;
  readonly url: URL;

  /** Reads the TLS files now, so that a bad path fails at start, naming the setting. */
  constructor(url: string, tls: PostTls) {
    try {
      this.url = new URL(url);
    } catch {
      throw new ConfigFileError(`forwarder url "${url}" is not a URL (fix: e.g. https://collector.example:8443/api/alerts)`);
    }
    if (this.url.protocol === 'https:') {
      this.agent = new https.Agent({ keepAlive: true, ...readTlsFiles(tls) });
    } else if (this.url.protocol === 'http:') {
      this.agent = new http.Agent({ keepAlive: true });
    } else {
      throw new ConfigFileError(`forwarder url "${url}" must be http: or https:`);
    }
  }

  post(body: Buffer, headers: Record<string, string>, timeoutMs: number, signal: AbortSignal): Promise<PostResult> {
    const lib = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(this.url, {
        method: 'POST',
        agent: this.agent,
        headers: { ...headers, 'content-length': String(body.length) },
        timeout: timeoutMs,
        signal,
      }, (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (c: Buffer) => {
          if (kept < BODY_KEEP) {
            chunks.push(c);
            kept += c.length;
          }
        });
        res.on('end', () => resolve({
          status: res.statusCode ?? 0,
          retryAfter: res.headers['retry-after'],
          body: Buffer.concat(chunks).subarray(0, BODY_KEEP).toString('utf8'),
        }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
