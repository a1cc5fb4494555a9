// Shared by the collector and forwarder tests: a temp dir with a tokens file, a collector on
// 127.0.0.1, alerts shaped like the agent's, and a proxy that injects faults in front of it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startCollector, type Collector } from '../../lib/collector/index.js';

export const TOKEN = 'tok-agent-1-0123456789';

export interface Env {
  dir: string;
  tokensFile: string;
  tokenFile: string;
  alertsFile: string;
  stateDir: string;
  cleanup(): void;
}

export function makeEnv(): Env {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-coll-'));
  const tokensFile = path.join(dir, 'tokens');
  fs.writeFileSync(tokensFile, `# agents\nagent1 ${TOKEN}\nagent2 other-token\n`);
  const tokenFile = path.join(dir, 'agent-token');
  fs.writeFileSync(tokenFile, TOKEN + '\n');
  return {
    dir, tokensFile, tokenFile,
    alertsFile: path.join(dir, 'out', 'alerts.json'),
    stateDir: path.join(dir, 'state'),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

export function collectorAt(env: Env, port = 0, extra: { tlsCert?: string; tlsKey?: string; tlsClientCa?: string; maxBodyBytes?: number } = {}): Promise<Collector> {
  return startCollector({ listen: { host: '127.0.0.1', port }, stateDir: env.stateDir, tokensFile: env.tokensFile, alertsFile: env.alertsFile, ...extra });
}

export function makeAlert(i: number, group = `example${i % 3}.com`, host = 'web-1'): Record<string, unknown> {
  return {
    '@timestamp': new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    event: { id: `ev-${i}`, kind: 'alert' },
    host: { name: host },
    process: { executable: '/usr/bin/curl' },
    egresswatch: { domain_group: group, novel_for: ['host'], software: { id: 'curl' } },
  };
}

export function fileLines(file: string): Record<string, unknown>[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Proxy {
  port: number;
  requests: { headers: http.IncomingHttpHeaders; bytes: number; status: number; at: number }[];
  close(): Promise<void>;
}

/**
 * A proxy to the collector that answers the first requests itself with `faults`
 * (status + headers; or forwards and then cuts the connection before the answer) and
 * forwards the rest, recording every request.
 */
export async function faultProxy(targetPort: number,
  faults: { status: number; headers?: Record<string, string>; forwardThenDrop?: boolean; hang?: boolean; closeAtOnce?: boolean }[]): Promise<Proxy> {
  const requests: Proxy['requests'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const fault = faults.shift();
      const rec = { headers: req.headers, bytes: body.length, status: 0, at: Date.now() };
      requests.push(rec);
      if (fault?.hang) return; // never answers: the client's own timeout must end it (closeAllConnections at close)
      if (fault?.closeAtOnce) {
        res.destroy(); // the connection closes with no answer, nothing forwarded
        return;
      }
      if (fault && fault.forwardThenDrop !== true) {
        rec.status = fault.status;
        res.writeHead(fault.status, fault.headers ?? {});
        res.end('injected');
        return;
      }
      const up = http.request({ host: '127.0.0.1', port: targetPort, path: req.url, method: req.method, headers: req.headers }, (ur) => {
        rec.status = ur.statusCode ?? 0;
        if (fault?.forwardThenDrop) {
          // the collector stored the batch, but the agent never hears so: it must resend
          ur.resume();
          res.destroy();
          return;
        }
        res.writeHead(rec.status, ur.headers);
        ur.pipe(res);
      });
      up.on('error', () => res.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    requests,
    close: () => new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    }),
  };
}

export interface TestPki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate from another, self-signed CA: the collector must refuse it. */
  rogueCert: string;
  rogueKey: string;
}

/**
 * A throwaway PKI made with the openssl command line (P-256 keys, valid one day): a CA, a
 * server certificate for 127.0.0.1 / localhost (SAN, serverAuth) and a client certificate
 * (clientAuth) signed by it, and a rogue client certificate signed by nobody we trust.
 */
export function makePki(dir: string): TestPki {
  fs.mkdirSync(dir, { recursive: true });
  const p = (n: string) => path.join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...key, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '1', '-subj', '/CN=egresswatch test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const issue = (name: string, cn: string, ext: string): void => {
    ssl('req', ...key, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${cn}`);
    fs.writeFileSync(p(`${name}.ext`), ext);
    ssl('x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial',
      '-out', p(`${name}.pem`), '-days', '1', '-extfile', p(`${name}.ext`));
  };
  issue('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  issue('client', 'agent1', 'extendedKeyUsage=clientAuth\n');
  ssl('req', '-x509', ...key, '-keyout', p('rogue.key'), '-out', p('rogue.pem'), '-days', '1', '-subj', '/CN=agent1',
    '-addext', 'extendedKeyUsage=clientAuth');
  return {
    ca: p('ca.pem'), serverCert: p('server.pem'), serverKey: p('server.key'), clientCert: p('client.pem'), clientKey: p('client.key'),
    rogueCert: p('rogue.pem'), rogueKey: p('rogue.key'),
  };
}
