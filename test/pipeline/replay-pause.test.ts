// A capture with very many new destinations (a scan): a replay reads a file in one
// synchronous call, and each new destination waits for its baseline write before it alerts, so
// the replay pauses reading once too many wait, lets them be written, and reads on from where
// it stopped. Checked: every alert once, the baseline has them all, the same alerts from the
// capture in pcapng and from a pipe (which cannot be opened again and is read in one go).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { loadConfig } from '../../lib/config/index.js';
import { runReplay } from '../../lib/pipeline/index.js';
import { scanCapture } from '../helpers/scan-capture.js';
import { haveCommand, requirePrereq } from '../helpers/env.js';

const silent = winston.createLogger({ silent: true });
/** More than the replay lets wait at once (MAX_PENDING_JUDGMENTS, 16,384): it must pause. */
const TARGETS = 20_000;

function alertLines(file: string): Record<string, unknown>[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

const destination = (a: Record<string, unknown>): string => (a.destination as { ip: string }).ip;

describe('pipeline/replay: a capture with very many new destinations', function () {
  this.timeout(120_000);
  let dir: string;
  let capture: string;
  const config = (name: string) => loadConfig({
    flags: {
      'state-dir': path.join(dir, name, 'state'),
      'alerts-file': path.join(dir, name, 'alerts.json'),
      'alerts-max-size': '1GiB',
      'learning-period': '0',
      'host-name': 'scan-host',
      'external-cidr': ['2001:db8::/32'],
    },
    env: {},
  });

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-replay-pause-'));
    capture = path.join(dir, 'scan.pcap');
    scanCapture(capture, TARGETS);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('pauses to let judgments be written, reads on, and alerts once for every destination', async () => {
    const stats = await runReplay(config('file'), [capture], silent);
    assert.equal(stats.packets, TARGETS);
    assert.ok(stats.replayPauses >= 1, `paused ${stats.replayPauses} times`);
    assert.deepEqual(stats.incompleteFiles, []);
    assert.equal(stats.connections.tcp, TARGETS);
    assert.equal(stats.alerts, TARGETS);
    assert.equal(stats.connectionsNotJudged, 0);
    const alerts = alertLines(path.join(dir, 'file', 'alerts.json'));
    assert.equal(alerts.length, TARGETS);
    assert.equal(new Set(alerts.map(destination)).size, TARGETS, 'one alert per destination, none twice');

    // Written to the baseline, those before the pause and those after: nothing alerts again.
    const again = await runReplay(config('file'), [capture], silent);
    assert.equal(again.alerts, 0);
    assert.equal(again.packets, TARGETS);
  });

  it('a pcapng capture pauses and reads on from where it stopped too: every destination alerts once', async function () {
    requirePrereq(this, haveCommand('editcap'), 'editcap (Wireshark)');
    const pcapng = path.join(dir, 'scan.pcapng');
    await new Promise<void>((resolve, reject) => {
      spawn('editcap', ['-F', 'pcapng', capture, pcapng], { stdio: 'ignore' }).on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`editcap exited ${code}`))));
    });
    const stats = await runReplay(config('pcapng'), [pcapng], silent);
    assert.equal(stats.packets, TARGETS);
    assert.ok(stats.replayPauses >= 1, `paused ${stats.replayPauses} times`);
    assert.equal(stats.alerts, TARGETS);
    const fromPcapng = alertLines(path.join(dir, 'pcapng', 'alerts.json')).map(destination);
    assert.equal(new Set(fromPcapng).size, TARGETS, 'one alert per destination, none twice');
    assert.deepEqual(fromPcapng.sort(), alertLines(path.join(dir, 'file', 'alerts.json')).map(destination).sort());
  });

  it('a pipe is read in one go (it cannot be opened again), with the same alerts', async function () {
    requirePrereq(this, haveCommand('mkfifo') && haveCommand('cat'), 'mkfifo and cat');
    const fifo = path.join(dir, 'scan.fifo');
    await new Promise<void>((resolve, reject) => {
      spawn('mkfifo', [fifo], { stdio: 'ignore' }).on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mkfifo exited ${code}`))));
    });
    const writer = spawn('sh', ['-c', 'cat "$0" > "$1"', capture, fifo], { stdio: 'ignore' });
    try {
      const stats = await runReplay(config('pipe'), [fifo], silent);
      assert.equal(stats.replayPauses, 0);
      assert.equal(stats.packets, TARGETS);
      assert.equal(stats.alerts, TARGETS);
      const fromPipe = alertLines(path.join(dir, 'pipe', 'alerts.json')).map(destination).sort();
      const fromFile = alertLines(path.join(dir, 'file', 'alerts.json')).map(destination).sort();
      assert.deepEqual(fromPipe, fromFile);
    } finally {
      writer.kill();
    }
  });
});
