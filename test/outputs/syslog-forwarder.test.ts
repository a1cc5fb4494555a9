// The forwarder against a small octet-counting TCP receiver in this process: framing, acking,
// reconnects after the receiver drops the connection, backoff while it is away, config errors.
import assert from 'node:assert/strict';
import net from 'node:net';
import { SyslogForwarder } from '../../lib/outputs/syslog.js';
import { SyslogConfigError } from '../../lib/outputs/syslog-conn.js';
import { SyslogFormatError } from '../../lib/outputs/syslog-format.js';
import { freePort, makeAlert, MemorySpool, parse5424, parseFrames, waitFor } from '../fixtures/syslog/harness.js';

/** Receives frames; `dropAfter` resets the first connection after that many messages. */
class Receiver {
  readonly messages: string[] = [];
  connections = 0;
  readonly server: net.Server;
  dropAfter = Infinity;
  private readonly sockets = new Set<net.Socket>();

  constructor() {
    this.server = net.createServer((sock) => {
      this.connections++;
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
      let buf: Buffer = Buffer.alloc(0);
      sock.on('data', (d: Buffer) => {
        const parsed = parseFrames(Buffer.concat([buf, d]));
        buf = parsed.rest;
        for (const m of parsed.messages) {
          if (this.messages.length >= this.dropAfter) {
            this.dropAfter = Infinity;
            sock.resetAndDestroy(); // this message and the rest of the read are lost
            return;
          }
          this.messages.push(m);
        }
      });
      sock.on('error', () => undefined);
    });
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve) => this.server.listen(port, '127.0.0.1', resolve));
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  ids(): Set<string> {
    return new Set(this.messages.map((m) => (JSON.parse(parse5424(m).msg) as { event: { id: string } }).event.id));
  }
}

describe('outputs/syslog forwarder (in-process receiver)', () => {
  let rx: Receiver;
  let port: number;
  let fwd: SyslogForwarder | undefined;

  beforeEach(async () => {
    port = await freePort();
    rx = new Receiver();
    await rx.listen(port);
  });

  afterEach(async () => {
    await fwd?.stop();
    fwd = undefined;
    await rx.close();
  });

  it('sends every spooled alert once, in order, and acks the spool', async () => {
    const spool = new MemorySpool();
    for (let i = 0; i < 50; i++) spool.append(makeAlert(i));
    fwd = new SyslogForwarder({ url: `tcp://127.0.0.1:${port}`, spool, hostName: 'agent-1', batchMax: 16, settleMs: 20 });
    fwd.start();
    await waitFor('50 acked', () => spool.acked === 50, 10_000);
    assert.equal(rx.messages.length, 50);
    assert.deepEqual(rx.messages.map((m) => (JSON.parse(parse5424(m).msg) as { event: { id: string } }).event.id),
      spool.entries.map((r) => (r.alert.event as { id: string }).id));
    assert.equal(parse5424(rx.messages[0]).host, 'agent-1');
    assert.equal(fwd.stats.sent, 50);
    assert.equal(fwd.stats.retries, 0);
    assert.equal(fwd.stats.connected, true);
    // New alerts wake it through the spool's onAppend, well before the 10 s poll.
    spool.append(makeAlert(50));
    await waitFor('the 51st alert', () => spool.acked === 51, 5000);
  });

  it('sends again what was in flight when the receiver reset the connection (at least once)', async () => {
    rx.dropAfter = 30;
    const spool = new MemorySpool();
    for (let i = 0; i < 100; i++) spool.append(makeAlert(i));
    fwd = new SyslogForwarder({
      url: `tcp://127.0.0.1:${port}`, spool, hostName: 'h', batchMax: 20, settleMs: 50, backoff: { baseMs: 20, capMs: 100 },
    });
    fwd.start();
    await waitFor('100 acked', () => spool.acked === 100, 15_000);
    assert.equal(rx.ids().size, 100, 'every alert arrived');
    assert.ok(rx.connections >= 2, 'reconnected');
    assert.ok(fwd.stats.failures >= 1);
    assert.ok(fwd.stats.retries >= 1, 'the batch in flight was sent again');
    assert.equal(fwd.stats.sent, 100);
  });

  it('backs off while the relay is away, acks nothing, and connects once it is back', async () => {
    await rx.close();
    const spool = new MemorySpool();
    for (let i = 0; i < 5; i++) spool.append(makeAlert(i));
    fwd = new SyslogForwarder({
      url: `tcp://127.0.0.1:${port}`, spool, hostName: 'h', settleMs: 10, backoff: { baseMs: 10, capMs: 80 }, random: () => 1,
    });
    fwd.start();
    await waitFor('3 failed attempts', () => fwd!.stats.failures >= 3, 5000);
    assert.equal(fwd.stats.connected, false);
    assert.equal(spool.acked, 0);
    rx = new Receiver();
    await rx.listen(port);
    await waitFor('5 acked after the relay came back', () => spool.acked === 5, 5000);
    assert.equal(rx.ids().size, 5);
  });

  it('stop() returns promptly while waiting to reconnect, leaving the alerts spooled', async () => {
    await rx.close();
    const spool = new MemorySpool();
    spool.append(makeAlert(1));
    fwd = new SyslogForwarder({ url: `tcp://127.0.0.1:${port}`, spool, hostName: 'h', backoff: { baseMs: 60_000, capMs: 60_000 } });
    fwd.start();
    await waitFor('a failed attempt', () => fwd!.stats.failures >= 1, 5000);
    await new Promise((r) => setTimeout(r, 50)); // now inside a long backoff wait
    const t0 = Date.now();
    await fwd.stop();
    assert.ok(Date.now() - t0 < 2000, `stop took ${Date.now() - t0} ms`);
    assert.equal(spool.acked, 0);
    rx = new Receiver();
    await rx.listen(port);
  });

  it('names the setting in configuration errors', () => {
    const spool = new MemorySpool();
    assert.throws(() => new SyslogForwarder({ url: 'udp://127.0.0.1:514', spool, hostName: 'h' }), SyslogConfigError);
    assert.throws(() => new SyslogForwarder({ url: 'tcp://127.0.0.1', spool, hostName: 'h' }), /needs a host and a port/);
    assert.throws(() => new SyslogForwarder({ url: 'tls://127.0.0.1:6514', spool, hostName: 'h', certFile: '/x' }), /--collector-cert and --collector-key go together/);
    assert.throws(() => new SyslogForwarder({ url: 'tls://127.0.0.1:6514', spool, hostName: 'h', caFile: '/nonexistent/ca.pem' }), /cannot read --collector-ca \/nonexistent\/ca\.pem: ENOENT/);
    assert.throws(() => new SyslogForwarder({ url: 'tcp://127.0.0.1:514', spool, hostName: 'bad host' }), SyslogFormatError);
  });
});
