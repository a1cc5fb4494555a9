// The forwarding TLS files and the collector token file are checked at start: a wrong path, a
// file that is not PEM, a key that is not the certificate's, a CA file with no certificate, an
// empty token file: each fails naming the flag, instead of every later connection failing.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TlsFilesError, readTlsFiles } from '../../lib/outputs/tls-files.js';
import { HttpForwarder } from '../../lib/outputs/http-forwarder.js';
import { Spool } from '../../lib/outputs/spool.js';
import { describeFailure } from '../../lib/config/fatal.js';
import { haveCommand, requirePrereq } from '../helpers/env.js';
import { makePki, type TestPki } from '../collector/helpers.js';

describe('outputs/tls-files: forwarding TLS files checked at start', () => {
  let dir = '';
  let pki: TestPki;
  before(function () {
    requirePrereq(this, haveCommand('openssl'), 'openssl');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-tlsfiles-'));
    pki = makePki(path.join(dir, 'pki'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const fails = (files: Parameters<typeof readTlsFiles>[0], pattern: RegExp): void => {
    assert.throws(() => readTlsFiles(files), (err: unknown) => {
      assert.ok(err instanceof TlsFilesError, String(err));
      assert.match(err.message, pattern);
      assert.equal(describeFailure(err, false).exitCode, 2, 'a configuration error: exit 2, no restart loop');
      return true;
    });
  };

  it('takes a CA, and a client certificate with its key', () => {
    const t = readTlsFiles({ caFile: pki.ca, certFile: pki.clientCert, keyFile: pki.clientKey });
    assert.ok(t.ca && t.cert && t.key);
  });

  it('names the flag for a missing file, a CA with no certificate, a certificate that is not PEM, a key of another certificate, half a pair', () => {
    const notPem = path.join(dir, 'not.pem');
    fs.writeFileSync(notPem, 'hello\n');
    fails({ caFile: path.join(dir, 'nope.pem') }, /^cannot read --collector-ca .*nope\.pem: ENOENT/);
    fails({ caFile: notPem }, /^--collector-ca .*not\.pem holds no PEM certificate/);
    fails({ certFile: notPem, keyFile: pki.clientKey }, /^cannot use --collector-cert .*not\.pem, --collector-key .*client\.key: /);
    fails({ certFile: pki.clientCert, keyFile: pki.rogueKey }, /^cannot use --collector-cert .*client\.pem, --collector-key .*rogue\.key: .*(key values mismatch|mismatch)/i);
    fails({ certFile: pki.clientCert }, /--collector-cert and --collector-key go together/);
  });

  it('--collector-token-file: missing or empty fails at start, naming the flag', async () => {
    const spool = await Spool.open({ dir: path.join(dir, 'spool') });
    try {
      assert.throws(() => new HttpForwarder({ url: 'http://127.0.0.1:1/api/alerts', spool, tokenFile: path.join(dir, 'no-token') }),
        /cannot read --collector-token-file .*no-token: ENOENT/);
      const empty = path.join(dir, 'empty-token');
      fs.writeFileSync(empty, '\n');
      assert.throws(() => new HttpForwarder({ url: 'http://127.0.0.1:1/api/alerts', spool, tokenFile: empty }), /--collector-token-file .*empty-token is empty/);
      const ok = path.join(dir, 'token');
      fs.writeFileSync(ok, 's3cret\n');
      new HttpForwarder({ url: 'http://127.0.0.1:1/api/alerts', spool, tokenFile: ok });
    } finally {
      await spool.close();
    }
  });
});
