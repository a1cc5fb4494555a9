// The forwarder against a real rsyslogd (imtcp; gtls for TLS), run in the foreground from a
// config in a temp dir that writes each received message raw to a file. Asserts on what
// rsyslog wrote: every alert arrives, parses as RFC 5424 with the alert JSON inside, and none
// is lost across a restart of rsyslog in the middle of the stream (duplicates are allowed).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Spool } from '../../lib/outputs/spool.js';
import { SyslogForwarder, type SpoolLike } from '../../lib/outputs/syslog.js';
import { haveCommand, requirePrereq } from '../helpers/env.js';
import {
  freePort, GTLS_DRIVER, makeAlert, makeCert, MemorySpool, parse5424, Rsyslog, RSYSLOGD, sdParams, waitFor,
} from '../fixtures/syslog/harness.js';

type Mode = 'tcp' | 'tls';

/** event.ids in what rsyslog wrote; throws on a line that is not RFC 5424 with the alert JSON. */
function receivedIds(rs: Rsyslog): { ids: Set<string>; lines: number } {
  const lines = rs.lines();
  const ids = new Set<string>();
  for (const line of lines) {
    const p = parse5424(line);
    const alert = JSON.parse(p.msg) as { event: { id: string } };
    assert.equal(sdParams(p.sd, 'egresswatch@32473').id, alert.event.id, 'SD id matches the JSON');
    ids.add(alert.event.id);
  }
  return { ids, lines: lines.length };
}

describe('outputs/syslog forwarder → real rsyslogd', function () {
  this.timeout(60_000);
  let tmp: string;
  let cert: { cert: string; key: string };
  const cleanups: (() => Promise<void> | void)[] = [];

  before(function () {
    requirePrereq(this, RSYSLOGD !== undefined, 'rsyslogd (Debian package rsyslog)');
    requirePrereq(this, haveCommand('openssl'), 'openssl');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-syslog-test-'));
    cert = makeCert(tmp);
  });

  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });

  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** `settleMs` 30 where no relay goes away (fast); the production default where one does. */
  async function setUp(ctx: Mocha.Context, mode: Mode, spool: SpoolLike<any>, settleMs = 30) {
    if (mode === 'tls') requirePrereq(ctx, GTLS_DRIVER, 'rsyslog gtls driver (Debian package rsyslog-gnutls)');
    const port = await freePort();
    const rs = new Rsyslog(port, mode === 'tls' ? cert : undefined);
    cleanups.push(() => rs.cleanup(), () => rs.stop());
    await rs.start();
    const fwd = new SyslogForwarder({
      url: `${mode}://127.0.0.1:${port}`, spool, hostName: 'agent-test', caFile: mode === 'tls' ? cert.cert : undefined,
      batchMax: 10, settleMs, pollMs: 50, backoff: { baseMs: 50, capMs: 400 },
    });
    cleanups.push(() => fwd.stop());
    return { rs, fwd };
  }

  async function expectAll(rs: Rsyslog, sent: Set<string>): Promise<{ ids: Set<string>; lines: number }> {
    await waitFor(`rsyslog to write ${sent.size} alerts`, () => receivedIds(rs).ids.size >= sent.size, 20_000).catch((err: Error) => {
      const got = receivedIds(rs).ids;
      throw new Error(`${err.message}; missing: ${[...sent].filter((id) => !got.has(id)).join(' ')}; rsyslog stderr: ${rs.stderr}`);
    });
    const got = receivedIds(rs);
    assert.deepEqual([...got.ids].sort(), [...sent].sort());
    return got;
  }

  for (const mode of ['tcp', 'tls'] as const) {
    it(`delivers 200 alerts over ${mode.toUpperCase()}, each parseable, event.id set equal`, async function () {
      const spool = new MemorySpool();
      const sent = new Set<string>();
      for (let i = 0; i < 200; i++) {
        const a = makeAlert(i, { process: { command_line: `python3 -c "print('ü ] \\\\ ${i}')"` } });
        spool.append(a);
        sent.add((a.event as { id: string }).id);
      }
      const { rs, fwd } = await setUp(this, mode, spool);
      fwd.start();
      await waitFor('200 acked', () => spool.acked === 200, 20_000);
      const got = await expectAll(rs, sent);
      assert.equal(got.lines, 200, 'no duplicates without failures');
      assert.equal(fwd.stats.sent, 200);
      assert.equal(fwd.stats.failures, 0);
    });

    it(`loses no alert over ${mode.toUpperCase()} when rsyslog restarts mid-stream`, async function () {
      const spool = new MemorySpool();
      const { rs, fwd } = await setUp(this, mode, spool, 250);
      const sent = new Set<string>();
      fwd.start();
      let i = 0;
      const producer = setInterval(() => {
        for (let k = 0; k < 5 && i < 200; k++, i++) {
          const a = makeAlert(i);
          spool.append(a);
          sent.add((a.event as { id: string }).id);
        }
        if (i >= 200) clearInterval(producer);
      }, 10);
      cleanups.push(() => clearInterval(producer));
      await waitFor('30 acked', () => fwd.stats.sent >= 30, 20_000);
      await rs.stop();
      const ackedAtKill = spool.acked;
      await new Promise((r) => setTimeout(r, 300));
      await rs.start();
      await waitFor('200 acked', () => spool.acked === 200, 30_000);
      const got = await expectAll(rs, sent);
      assert.ok(ackedAtKill < 200, `rsyslog stopped mid-stream (acked ${ackedAtKill})`);
      assert.ok(fwd.stats.failures >= 1, 'the forwarder saw the connection go');
      assert.equal(fwd.stats.connected, true, 'and reconnected');
      assert.ok(got.lines >= 200, `duplicates allowed (${got.lines - got.ids.size})`);
      if (process.env.EGRESSWATCH_TEST_VERBOSE) console.log(mode, { ackedAtKill, lines: got.lines, stats: fwd.stats });
    });
  }

  it('forwards from the real LevelDB spool and leaves it empty', async function () {
    const spool = await Spool.open({ dir: path.join(tmp, 'spool') });
    cleanups.push(() => spool.close());
    const sent = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const a = makeAlert(1000 + i);
      await spool.append(a);
      sent.add((a.event as { id: string }).id);
    }
    const { rs, fwd } = await setUp(this, 'tcp', spool);
    fwd.start();
    await waitFor('the spool drained', () => fwd.stats.sent === 200, 20_000);
    await expectAll(rs, sent);
    assert.equal(spool.depth('syslog'), 0);
    assert.equal(spool.stats.acked, 200);
  });
});
