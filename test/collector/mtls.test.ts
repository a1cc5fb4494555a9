// The collector with --tls-client-ca (mutual TLS): a client certificate signed by that CA is
// required in the handshake; without one, or with one from another CA, nothing gets through.
// Certificates are made with the openssl command line for each run.
import assert from 'node:assert/strict';
import https from 'node:https';
import fs from 'node:fs';
import path from 'node:path';
import { startCollector, type Collector } from '../../lib/collector/index.js';
import { HttpForwarder } from '../../lib/outputs/http-forwarder.js';
import { Spool } from '../../lib/outputs/spool.js';
import { haveCommand, requirePrereq } from '../helpers/env.js';
import { TOKEN, collectorAt, fileLines, makeAlert, makeEnv, makePki, waitFor, type Env, type TestPki } from './helpers.js';

/** One POST of one alert over HTTPS; resolves with the status, or the TLS / socket error's text. */
function post(port: number, ca: string, client?: { cert: string; key: string }, id = 'ev-post'): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const req = https.request({
      host: '127.0.0.1', port, path: '/api/alerts', method: 'POST', timeout: 5000,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-ndjson' },
      ca: fs.readFileSync(ca), ...(client ? { cert: fs.readFileSync(client.cert), key: fs.readFileSync(client.key) } : {}),
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode }));
    });
    req.on('error', (err) => resolve({ error: err.message }));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(JSON.stringify({ ...makeAlert(0), event: { id, kind: 'alert' } }) + '\n');
  });
}

describe('collector: mutual TLS (tlsClientCa)', function () {
  this.timeout(30_000);
  let env: Env;
  let pki: TestPki;
  let c: Collector | undefined;
  before(function () {
    requirePrereq(this, haveCommand('openssl'), 'openssl');
  });
  beforeEach(() => {
    env = makeEnv();
    pki = makePki(path.join(env.dir, 'pki'));
  });
  afterEach(async () => {
    await c?.close();
    c = undefined;
    env.cleanup();
  });

  it('accepts a client certificate from the CA; refuses none and one from another CA in the handshake', async () => {
    const warnings: string[] = [];
    const logger = { warn: (m: string) => warnings.push(m), info: () => undefined };
    c = await startCollector({ listen: { host: '127.0.0.1', port: 0 }, stateDir: env.stateDir, tokensFile: env.tokensFile,
      alertsFile: env.alertsFile, tlsCert: pki.serverCert, tlsKey: pki.serverKey, tlsClientCa: pki.ca, logger });
    assert.deepEqual(await post(c.port, pki.ca, { cert: pki.clientCert, key: pki.clientKey }, 'ev-good'), { status: 200 });
    const none = await post(c.port, pki.ca, undefined, 'ev-none');
    assert.equal(none.status, undefined, 'no client certificate: no HTTP answer at all');
    assert.match(none.error ?? '', /certificate|socket hang up|ECONNRESET/i);
    const rogue = await post(c.port, pki.ca, { cert: pki.rogueCert, key: pki.rogueKey }, 'ev-rogue');
    assert.equal(rogue.status, undefined, 'a certificate from another CA: no HTTP answer');
    await waitFor(() => warnings.filter((w) => /refused a TLS client/.test(w)).length >= 2, 5000, 'both refusals logged');
    assert.deepEqual(fileLines(env.alertsFile).map((a) => (a.event as { id: string }).id), ['ev-good']);
  });

  it('a forwarder without the client certificate keeps its alerts spooled; with it, they are delivered once', async () => {
    c = await collectorAt(env, 0, { tlsCert: pki.serverCert, tlsKey: pki.serverKey, tlsClientCa: pki.ca });
    const url = `https://127.0.0.1:${c.port}/api/alerts`;
    const spool = await Spool.open({ dir: path.join(env.dir, 'spool') });
    try {
      const backoff = { baseMs: 20, capMs: 100 };
      const without = new HttpForwarder({ url, spool, name: 'collector', tokenFile: env.tokenFile, caFile: pki.ca, batchMaxWaitMs: 20, backoff });
      without.start();
      for (let i = 0; i < 5; i++) await spool.append(makeAlert(i));
      await waitFor(() => without.stats.failures >= 2, 5000, 'refused deliveries');
      await without.stop();
      assert.equal(without.stats.sent, 0);
      assert.equal(spool.depth(), 5, 'the refused alerts wait in the spool');
      assert.equal(fileLines(env.alertsFile).length, 0);
      // The same forwarder name (same spool cursor) with the certificate configured.
      const withCert = new HttpForwarder({ url, spool, name: 'collector', tokenFile: env.tokenFile, caFile: pki.ca,
        certFile: pki.clientCert, keyFile: pki.clientKey, batchMaxWaitMs: 20, backoff });
      withCert.start();
      await waitFor(() => withCert.stats.sent === 5, 5000, 'delivery with the client certificate');
      await withCert.stop();
      const ids = fileLines(env.alertsFile).map((a) => (a.event as { id: string }).id).sort();
      assert.deepEqual(ids, ['ev-0', 'ev-1', 'ev-2', 'ev-3', 'ev-4']);
    } finally {
      await spool.close();
    }
  });

  it('refuses --tls-client-ca without a server certificate, and names an unreadable CA file', async () => {
    await assert.rejects(collectorAt(env, 0, { tlsClientCa: pki.ca }), /--tls-client-ca needs --tls-cert/);
    await assert.rejects(collectorAt(env, 0, { tlsCert: pki.serverCert, tlsKey: pki.serverKey, tlsClientCa: path.join(env.dir, 'nope.pem') }),
      /cannot read --tls-client-ca .*nope\.pem: ENOENT/);
  });
});
