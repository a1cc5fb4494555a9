import assert from 'node:assert/strict';
import { ConfigError, formatDuration, formatSize, parseDuration, parseSize } from '../../lib/config/index.js';

describe('config units: parseDuration', () => {
  const cases: [string, number][] = [
    ['250ms', 250], ['30s', 30_000], ['10m', 600_000], ['24h', 86_400_000], ['90d', 7_776_000_000],
    ['1.5h', 5_400_000], ['0.5s', 500], ['0', 0], ['0s', 0], [' 5m ', 300_000],
  ];
  for (const [text, ms] of cases) {
    it(`reads '${text}' as ${ms} ms`, () => assert.equal(parseDuration(text, '--alert-delay'), ms));
  }

  for (const bad of ['abc', '', '10', '-5s', '5 s', '1h30m', '5M', '5w', '1e3s', 's', '.5s']) {
    it(`rejects '${bad}' with a ConfigError naming the setting`, () => {
      assert.throws(() => parseDuration(bad, '--tcp-idle-timeout'), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.setting, 'tcpIdleTimeout');
        assert.match(err.message, /^invalid --tcp-idle-timeout '/);
        assert.match(err.fix, /duration like 30s/);
        return true;
      });
    });
  }

  it('produces exactly the documented message for --learning-period abc', () => {
    assert.throws(() => parseDuration('abc', '--learning-period'), {
      message: "invalid --learning-period 'abc': expected a duration like 30s, 10m, 24h, 90d " +
        '(setting learningPeriod / env EGRESSWATCH_LEARNING_PERIOD)',
    });
  });

  it('names the flag and the file key when the env var was the source', () => {
    assert.throws(() => parseDuration('x', 'EGRESSWATCH_ALERT_DELAY'),
      { message: /invalid EGRESSWATCH_ALERT_DELAY 'x': .* \(flag --alert-delay \/ setting alertDelay\)$/ });
  });

  it('round-trips formatDuration for the defaults', () => {
    for (const ms of [0, 500, 10_000, 60_000, 300_000, 3_600_000, 86_400_000, 7_776_000_000]) {
      assert.equal(parseDuration(formatDuration(ms), 'x'), ms);
    }
    assert.equal(formatDuration(86_400_000), '24h');
    assert.equal(formatDuration(7_776_000_000), '90d');
  });
});

describe('config units: parseSize', () => {
  const cases: [string, number][] = [
    ['4096', 4096], ['4096k', 4 * 1024 * 1024], ['64M', 64 * 1024 ** 2], ['1G', 1024 ** 3],
    ['32MiB', 32 * 1024 ** 2], ['32mb', 32 * 1024 ** 2], ['512KB', 512 * 1024], ['1.5k', 1536],
    ['100B', 100], ['2T', 2 * 1024 ** 4],
  ];
  for (const [text, bytes] of cases) {
    it(`reads '${text}' as ${bytes} bytes`, () => assert.equal(parseSize(text, '--capture-buffer'), bytes));
  }

  for (const bad of ['', 'lots', '-1M', '1X', 'M', '1 0M']) {
    it(`rejects '${bad}'`, () => {
      assert.throws(() => parseSize(bad, '--capture-buffer'),
        (err: unknown) => err instanceof ConfigError && err.setting === 'captureBuffer' &&
          err.message.startsWith("invalid --capture-buffer '"));
    });
  }

  it('formats sizes in the largest exact binary unit', () => {
    assert.equal(formatSize(32 * 1024 ** 2), '32MiB');
    assert.equal(formatSize(1024 ** 3), '1GiB');
    assert.equal(formatSize(1536), '1536');
    assert.equal(parseSize(formatSize(4096), 'x'), 4096);
  });
});
