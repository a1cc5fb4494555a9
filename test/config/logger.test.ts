import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLogger, logStreamFor } from '../../lib/config/index.js';

function capture(): { stream: PassThrough; lines: () => string[] } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  return { stream, lines: () => chunks.join('').split('\n').filter((l) => l !== '') };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('config createLogger', () => {
  it('writes one JSON object per line with level, message, timestamp and metadata', async () => {
    const out = capture();
    const log = createLogger('info', { stream: out.stream, text: false });
    log.info('capture started', { interface: 'eth0' });
    await flush();
    const [line] = out.lines();
    const obj = JSON.parse(line) as Record<string, unknown>;
    assert.equal(obj.level, 'info');
    assert.equal(obj.message, 'capture started');
    assert.equal(obj.interface, 'eth0');
    assert.ok(!Number.isNaN(Date.parse(String(obj.timestamp))));
  });

  it('filters below the configured level', async () => {
    const out = capture();
    const log = createLogger('warn', { stream: out.stream, text: false });
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    await flush();
    assert.deepEqual(out.lines().map((l) => (JSON.parse(l) as { message: string }).message), ['w', 'e']);
  });

  it('writes plain text for a terminal', async () => {
    const out = capture();
    (out.stream as PassThrough & { isTTY?: boolean }).isTTY = true;
    createLogger('info', { stream: out.stream }).info('hello', { n: 1 });
    await flush();
    assert.match(out.lines()[0], /^\d{4}-\d\d-\d\dT\S+ info hello \{"n":1\}$/);
  });

  it('sends logs to stderr when stdout carries alerts or stats', () => {
    assert.equal(logStreamFor({ stdout: false, statsJson: false }), process.stdout);
    assert.equal(logStreamFor({ stdout: true, statsJson: false }), process.stderr);
    assert.equal(logStreamFor({ stdout: false, statsJson: true }), process.stderr);
  });
});
