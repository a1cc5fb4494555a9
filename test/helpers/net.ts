// Small network helpers for tests that drive the agent over loopback.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Connects to addr:port, sends a line, waits for the reply and the close (bounded 5 s). */
export function connectOnce(addr: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: addr, port }, () => s.write('hello\n'));
    s.on('data', () => s.end());
    s.on('close', () => resolve());
    s.on('error', reject);
    s.setTimeout(5000, () => { s.destroy(); reject(new Error('timeout')); });
  });
}

/** TLS material for httpGet: a CA to trust and, for mutual TLS, a client certificate and key (PEM files). */
export interface TestTls { ca: string; cert?: string; key?: string }

/**
 * GET http(s)://127.0.0.1:port/path with an optional bearer token; never rejects: a network
 * error or the 2 s timeout answers status 0.
 */
export function httpGet(port: number, p: string, opts: { token?: string; tls?: TestTls } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const headers = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
    const base = { host: '127.0.0.1', port, path: p, timeout: 2000, headers };
    const onResponse = (res: http.IncomingMessage): void => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    };
    const t = opts.tls;
    const req = t
      ? https.get({ ...base, ca: fs.readFileSync(t.ca), cert: t.cert ? fs.readFileSync(t.cert) : undefined, key: t.key ? fs.readFileSync(t.key) : undefined }, onResponse)
      : http.get(base, onResponse);
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.on('timeout', () => { req.destroy(); resolve({ status: 0, body: '' }); });
  });
}
