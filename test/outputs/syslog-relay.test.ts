// The rsyslog relay config printed in docs/forwarding.md, run for real: agent → (TLS) relay
// → (TLS, disk-assisted queue) sink. The block between the rsyslog-relay markers is taken from
// the doc as it stands, with only paths, ports and the SIEM's name put in, so the documented
// config cannot rot unnoticed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SyslogForwarder } from '../../lib/outputs/syslog.js';
import { haveCommand, REPO_ROOT, requirePrereq } from '../helpers/env.js';
import {
  freePort, GTLS_DRIVER, makeAlert, makeCert, MemorySpool, parse5424, Rsyslog, RSYSLOGD, waitFor,
} from '../fixtures/syslog/harness.js';

/** The fenced block between `<!-- NAME:begin -->` and `<!-- NAME:end -->` in a doc. */
export function docBlock(file: string, name: string): string {
  const text = fs.readFileSync(file, 'utf8');
  const m = new RegExp(`<!-- ${name}:begin -->\\n\`\`\`\\n([\\s\\S]*?)\`\`\`\\n<!-- ${name}:end -->`).exec(text);
  if (!m) throw new Error(`no ${name} block in ${file}`);
  return m[1];
}

function replaceOnce(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `the documented config no longer contains ${from}`);
  return text.split(from).join(to);
}

describe('docs/forwarding.md rsyslog relay config, run for real', function () {
  this.timeout(60_000);
  let tmp: string;
  const cleanups: (() => Promise<void> | void)[] = [];

  before(function () {
    requirePrereq(this, RSYSLOGD !== undefined, 'rsyslogd (Debian package rsyslog)');
    requirePrereq(this, GTLS_DRIVER, 'rsyslog gtls driver (Debian package rsyslog-gnutls)');
    requirePrereq(this, haveCommand('openssl'), 'openssl');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-syslog-relay-'));
  });

  after(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('relays 200 agent alerts to the SIEM as RFC 5424 and keeps a JSON-lines copy', async () => {
    const cert = makeCert(tmp);
    const sinkPort = await freePort();
    const relayPort = await freePort();
    const sink = new Rsyslog(sinkPort, cert);
    cleanups.push(() => sink.cleanup(), () => sink.stop());
    await sink.start();

    const copy = path.join(tmp, 'alerts.jsonl');
    const relay = new Rsyslog(relayPort, undefined, (dir) => {
      let conf = docBlock(path.join(REPO_ROOT, 'docs', 'forwarding.md'), 'rsyslog-relay');
      conf = replaceOnce(conf, '"/var/spool/rsyslog"', `"${dir}/work"`);
      conf = replaceOnce(conf, '/etc/egresswatch-relay/ca.pem', cert.cert);
      conf = replaceOnce(conf, '/etc/egresswatch-relay/relay-cert.pem', cert.cert);
      conf = replaceOnce(conf, '/etc/egresswatch-relay/relay-key.pem', cert.key);
      conf = replaceOnce(conf, '/var/log/egresswatch/alerts.jsonl', copy);
      conf = replaceOnce(conf, 'input(type="imtcp" port="6514"', `input(type="imtcp" address="127.0.0.1" port="${relayPort}"`);
      conf = replaceOnce(conf, 'target="siem.example.net" port="6514"', `target="127.0.0.1" port="${sinkPort}"`);
      return replaceOnce(conf, 'StreamDriverPermittedPeers="siem.example.net"', 'StreamDriverPermittedPeers="localhost"');
    });
    cleanups.push(() => relay.cleanup(), () => relay.stop());
    await relay.start();

    const spool = new MemorySpool();
    const sent = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const a = makeAlert(i, { user: { name: 'ütf-user' } });
      spool.append(a);
      sent.add((a.event as { id: string }).id);
    }
    const fwd = new SyslogForwarder({
      url: `tls://127.0.0.1:${relayPort}`, spool, hostName: 'agent-7', caFile: cert.cert, settleMs: 30, pollMs: 50,
    });
    cleanups.push(() => fwd.stop());
    fwd.start();

    const idsOf = (lines: string[], parse: (l: string) => { event: { id: string } }): Set<string> =>
      new Set(lines.map((l) => parse(l).event.id));
    const readCopy = (): string[] => (fs.existsSync(copy) ? fs.readFileSync(copy, 'utf8').split('\n').filter(Boolean) : []);
    await waitFor('the SIEM sink to get 200 alerts', () => sink.lines().length >= 200 && readCopy().length >= 200, 30_000);

    const atSink = sink.lines().map(parse5424);
    assert.ok(atSink.every((p) => p.pri === 84 && p.host === 'agent-7' && p.app === 'egresswatch' && p.msgId === 'NEWEXT'));
    assert.ok(atSink.every((p) => p.sd.startsWith('[egresswatch@32473 id="evt-')), 'structured data kept');
    assert.deepEqual([...idsOf(atSink.map((p) => p.msg), (m) => JSON.parse(m) as { event: { id: string } })].sort(), [...sent].sort());
    const copyIds = idsOf(readCopy(), (l) => JSON.parse(l) as { event: { id: string } });
    assert.deepEqual([...copyIds].sort(), [...sent].sort());
    assert.equal((JSON.parse(readCopy()[0]) as { user: { name: string } }).user.name, 'ütf-user');
  });
});
