import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULTS, loadConfig, type ConfigSources } from '../../lib/config/index.js';

describe('config loadConfig: sources and precedence', () => {
  let dir: string;
  const noMachineId = () => path.join(dir, 'no-machine-id');
  const load = (src: Partial<ConfigSources>) =>
    loadConfig({ flags: {}, env: {}, machineIdFile: noMachineId(), cwd: dir, ...src });
  const writeYaml = (text: string, name = 'egresswatch.yaml') => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };

  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-config-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('gives the defaults when nothing is configured, hostId falling back to hostName', () => {
    const c = load({});
    assert.deepEqual({ ...c, hostId: '' }, { ...DEFAULTS });
    assert.equal(c.hostId, os.hostname());
    assert.deepEqual(c.interfaces, ['any']);
    assert.equal(c.learningPeriodMs, 24 * 3600_000);
    assert.equal(c.baselineWindowMs, 90 * 86_400_000);
    assert.equal(c.captureBufferBytes, 32 * 1024 * 1024);
    assert.equal(c.metricsListen, undefined);
  });

  it('takes hostId from the machine-id file when readable', () => {
    const mid = path.join(dir, 'machine-id');
    fs.writeFileSync(mid, '0123456789abcdef0123456789abcdef\n');
    assert.equal(load({ machineIdFile: mid }).hostId, '0123456789abcdef0123456789abcdef');
    assert.equal(load({ machineIdFile: mid, flags: { 'host-id': 'given' } }).hostId, 'given');
  });

  it('falls back to a configured host name for hostId', () => {
    assert.equal(load({ flags: { 'host-name': 'web-1' } }).hostId, 'web-1');
  });

  it('reads every kind of key from a YAML file', () => {
    const file = writeYaml([
      'interfaces: [eth0, eth1]', 'stateDir: state', 'alertsFile: /tmp/ew/alerts.json',
      'learningPeriod: "0"', 'baselineWindow: 30d', 'alertDelay: 0', 'externalCidrs: [10.9.0.0/16]',
      'internalCidrs:', '  - 198.51.100.0/24', '  - 2001:db8::/32', 'dnsPorts: [53, 5353]',
      'metricsListen: "127.0.0.1:9500"', 'stdout: true', 'logLevel: debug', 'captureBuffer: 64M',
      'snapLength: 1500', 'dnsCacheSize: 5000', 'dnsRetention: 2h', 'flowTableSize: 1000',
      'tcpIdleTimeout: 2m', 'udpIdleTimeout: 30s', 'passwdFile: /etc/passwd', 'hostName: h1', 'hostId: id1',
      'procRoot: /host/proc',
    ].join('\n'));
    const c = load({ file });
    assert.deepEqual(c.interfaces, ['eth0', 'eth1']);
    assert.equal(c.stateDir, path.join(dir, 'state'), 'relative paths in the file are relative to the file');
    assert.equal(c.learningPeriodMs, 0);
    assert.equal(c.baselineWindowMs, 30 * 86_400_000);
    assert.equal(c.alertDelayMs, 0);
    assert.deepEqual(c.internalCidrs, ['198.51.100.0/24', '2001:db8::/32']);
    assert.deepEqual(c.externalCidrs, ['10.9.0.0/16']);
    assert.deepEqual(c.dnsPorts, [53, 5353]);
    assert.deepEqual(c.metricsListen, { host: '127.0.0.1', port: 9500 });
    assert.equal(c.stdout, true);
    assert.equal(c.logLevel, 'debug');
    assert.equal(c.captureBufferBytes, 64 * 1024 * 1024);
    assert.equal(c.snapLength, 1500);
    assert.equal(c.dnsCacheSize, 5000);
    assert.equal(c.dnsRetentionMs, 7_200_000);
    assert.equal(c.flowTableSize, 1000);
    assert.equal(c.tcpIdleMs, 120_000);
    assert.equal(c.udpIdleMs, 30_000);
    assert.equal(c.procRoot, '/host/proc');
    assert.equal(c.hostId, 'id1');
  });

  it('reads the environment, lists comma-separated, and EGRESSWATCH_CONFIG for the file', () => {
    const file = writeYaml('snapLength: 2000\n');
    const c = load({ env: {
      EGRESSWATCH_CONFIG: file, EGRESSWATCH_STATE_DIR: '/srv/ew', EGRESSWATCH_INTERFACE: 'eth0, eth1',
      EGRESSWATCH_EXTERNAL_CIDR: '192.0.2.0/24,203.0.113.0/24', EGRESSWATCH_STDOUT: 'yes', EGRESSWATCH_PROXY: '10.0.0.8:3128, [2001:DB8:0::8]:8080',
      EGRESSWATCH_METRICS_LISTEN: '[::1]:9000', EGRESSWATCH_LEARNING_PERIOD: '12h', EGRESSWATCH_ALERT_DELAY: '',
    } });
    assert.equal(c.snapLength, 2000);
    assert.equal(c.stateDir, '/srv/ew');
    assert.deepEqual(c.interfaces, ['eth0', 'eth1']);
    assert.deepEqual(c.externalCidrs, ['192.0.2.0/24', '203.0.113.0/24']);
    assert.equal(c.stdout, true);
    assert.deepEqual(c.metricsListen, { host: '::1', port: 9000 });
    assert.deepEqual(c.proxies, [{ host: '10.0.0.8', port: 3128 }, { host: '2001:db8::8', port: 8080 }], 'addresses in canonical text');
    assert.equal(c.learningPeriodMs, 12 * 3600_000);
    assert.equal(c.alertDelayMs, DEFAULTS.alertDelayMs, 'an empty variable counts as unset');
  });

  it('applies flags > env > file > defaults, for scalars and lists', () => {
    const file = writeYaml('learningPeriod: 1h\nalertDelay: 1s\ndnsRetention: 3h\ndnsPorts: [5353]\n');
    const env = { EGRESSWATCH_LEARNING_PERIOD: '2h', EGRESSWATCH_ALERT_DELAY: '2s', EGRESSWATCH_DNS_PORT: '5300' };
    const flags = { 'learning-period': '3h', 'dns-port': ['54', '55'] };
    const c = load({ file, env, flags });
    assert.equal(c.learningPeriodMs, 3 * 3600_000, 'flag beats env and file');
    assert.equal(c.alertDelayMs, 2000, 'env beats file');
    assert.equal(c.dnsRetentionMs, 3 * 3600_000, 'file beats default');
    assert.equal(c.tcpIdleMs, DEFAULTS.tcpIdleMs, 'default when nobody sets it');
    assert.deepEqual(c.dnsPorts, [54, 55], 'a list from a flag replaces the others');
  });

  it('accepts camelCase flag keys as yargs also provides them, and resolves flag paths against cwd', () => {
    const c = load({ flags: { tcpIdleTimeout: '90s', stateDir: 'rel', statsJson: true } });
    assert.equal(c.tcpIdleMs, 90_000);
    assert.equal(c.stateDir, path.join(dir, 'rel'));
    assert.equal(c.statsJson, true);
  });

  it('treats a key left empty in the file as "use the default"', () => {
    assert.equal(load({ file: writeYaml('metricsListen:\nalertDelay:\n') }).alertDelayMs, DEFAULTS.alertDelayMs);
  });

  it('returns a deep-frozen object', () => {
    const c = load({ flags: { 'metrics-listen': '127.0.0.1:9500', interface: 'eth0' } });
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.interfaces) && Object.isFrozen(c.metricsListen));
    assert.throws(() => { (c as { stateDir: string }).stateDir = '/x'; }, TypeError);
    assert.throws(() => { (c.interfaces as string[]).push('eth9'); }, TypeError);
    assert.throws(() => { (c.metricsListen as { port: number }).port = 1; }, TypeError);
    assert.ok(Object.isFrozen(DEFAULTS) && Object.isFrozen(DEFAULTS.dnsPorts));
  });
});
