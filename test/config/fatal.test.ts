import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../helpers/env.js';
import { ConfigError, EXIT_CONFIG, EXIT_RUNTIME, debugRequested, describeFailure } from '../../lib/config/index.js';

class CaptureError extends Error {
  override readonly name = 'CaptureError';
}

describe('config describeFailure: one line for the operator', () => {
  it('a ConfigError is exit 2 with its message and no stack', () => {
    const f = describeFailure(new ConfigError('invalid --x', 'x', 'fix it'), true);
    assert.deepEqual(f, { exitCode: EXIT_CONFIG, line: 'egresswatch: invalid --x' });
  });

  it('a known runtime error class is exit 1 with its message', () => {
    const f = describeFailure(new CaptureError('cannot open eth9: no such device'), false);
    assert.deepEqual(f, { exitCode: EXIT_RUNTIME, line: 'egresswatch: cannot open eth9: no such device' });
  });

  it('a userMessage wins over the message and may set the exit code', () => {
    const err = Object.assign(new Error('internal detail'), { userMessage: 'baseline is locked\nby pid 7', exitCode: 3 });
    assert.deepEqual(describeFailure(err, false), { exitCode: 3, line: 'egresswatch: baseline is locked by pid 7' });
  });

  it('an errno error on a path names the path and the remedy', () => {
    const err = Object.assign(new Error("EACCES: permission denied, open '/var/lib/x'"),
      { code: 'EACCES', path: '/var/lib/x', syscall: 'open' });
    const f = describeFailure(err, false);
    assert.equal(f.exitCode, EXIT_RUNTIME);
    assert.match(f.line, /^egresswatch: cannot open \/var\/lib\/x: EACCES \(permission denied/);
    assert.equal(f.detail, undefined);
  });

  it('an address in use names the address', () => {
    const err = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', address: '127.0.0.1', port: 9500, syscall: 'listen' });
    assert.match(describeFailure(err, false).line, /cannot listen 127\.0\.0\.1:9500: EADDRINUSE/);
  });

  it('an unexpected error says how to get details, and gives the stack only at debug', () => {
    const err = new TypeError('x is not a function');
    const quiet = describeFailure(err, false);
    assert.equal(quiet.line, 'egresswatch: unexpected error: x is not a function (run with --log-level debug for details)');
    assert.equal(quiet.detail, undefined);
    const loud = describeFailure(err, true);
    assert.match(loud.detail ?? '', /TypeError: x is not a function\n\s+at /);
  });

  it('survives non-Error throws', () => {
    assert.match(describeFailure('boom', false).line, /unexpected error: boom/);
    assert.match(describeFailure(undefined, false).line, /unexpected error: undefined/);
  });

  it('debugRequested reads the raw arguments and the environment', () => {
    assert.equal(debugRequested(['run', '--log-level', 'debug'], {}), true);
    assert.equal(debugRequested(['run', '--log-level=debug'], {}), true);
    assert.equal(debugRequested(['run'], { EGRESSWATCH_LOG_LEVEL: 'debug' }), true);
    assert.equal(debugRequested(['run', '--log-level', 'info'], {}), false);
  });
});

describe('config surviveRejections: the daemon carries on after an unhandled rejection', () => {
  const run = (guard: boolean) => spawnSync(process.execPath, ['--input-type=module', '-e', `
    import { surviveRejections } from ${JSON.stringify(pathToFileURL(path.join(REPO_ROOT, 'dist', 'lib', 'config', 'index.js')).href)};
    const seen = ${guard} ? surviveRejections((m, meta) => console.log(JSON.stringify({ m, ...meta }))) : () => 0;
    Promise.reject(new Error('lookup failed in the background'));
    setTimeout(() => { Promise.reject('a second one'); }, 20);
    setTimeout(() => console.log('still running', seen()), 100);
  `], { encoding: 'utf8', timeout: 20_000 });

  it('logs each with its stack and a count, and keeps the process running', () => {
    const r = run(true);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.at(-1), 'still running 2');
    const first = JSON.parse(lines[0]) as { m: string; error: string; stack: string; count: number };
    assert.match(first.m, /carries on/);
    assert.equal(first.error, 'lookup failed in the background');
    assert.match(first.stack, /Error: lookup failed in the background\n\s+at /);
    assert.deepEqual(JSON.parse(lines[1]), { m: first.m, error: 'a second one', count: 2 });
  });

  it('without it, Node ends the process at the first (what the guard prevents)', () => {
    const r = run(false);
    assert.notEqual(r.status, 0);
    assert.doesNotMatch(r.stdout, /still running/);
  });
});
