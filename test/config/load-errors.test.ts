import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, type ConfigSources } from '../../lib/config/index.js';

/** Asserts loadConfig fails with a ConfigError whose message matches every pattern. */
function fails(src: Partial<ConfigSources>, setting: string, ...patterns: RegExp[]): ConfigError {
  let caught: unknown;
  try {
    loadConfig({ flags: {}, env: {}, machineIdFile: '/nonexistent', ...src });
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.setting, setting);
  assert.ok(caught.fix.length > 0);
  assert.ok(!caught.message.includes('\n'), 'one line');
  for (const p of patterns) assert.match(caught.message, p);
  return caught;
}

describe('config loadConfig: bad values name the setting, the source and the fix', () => {
  let dir: string;
  const yaml = (text: string) => {
    const p = path.join(dir, 'c.yaml');
    fs.writeFileSync(p, text);
    return p;
  };
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-config-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a missing file names the file and the errno', () => {
    const missing = path.join(dir, 'missing.yaml');
    fails({ file: missing }, 'config', new RegExp(`cannot read config file ${missing}: ENOENT`), /fix: /);
  });

  it('a YAML syntax error gives the line', () => {
    fails({ file: yaml('stateDir: /a\nalertDelay: [1s\nsnapLength: 100\n') }, 'config', /cannot parse config file .*c\.yaml: line \d+, column \d+/);
  });

  it('a duplicate key is an error', () => {
    fails({ file: yaml('stateDir: /a\nstateDir: /b\n') }, 'config', /line 2/);
  });

  it('a file that is not a mapping is an error', () => {
    fails({ file: yaml('- a\n- b\n') }, 'config', /expected a mapping/);
  });

  it('a file that is no config (its lines parse as keys) is not echoed into the error', () => {
    const f = path.join(dir, 'shadow');
    fs.writeFileSync(f, 'root:$6$saltsalt$0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEF:20228:0:99999:7:::\n');
    const err = fails({ file: f }, 'config', /unknown key \(not a setting name: \d+ characters\) in config file/);
    assert.ok(!err.message.includes('saltsalt') && !err.fix.includes('saltsalt'), err.message);
  });

  it('an unknown key names the key and the file, with a suggestion', () => {
    const f = yaml('learningPeriodd: 1h\n');
    fails({ file: f }, 'learningPeriodd', new RegExp(`unknown key 'learningPeriodd' in config file ${f}`), /did you mean 'learningPeriod'/);
    fails({ file: yaml('colour: blue\n') }, 'colour', /remove it; the keys are listed in docs\/configuration\.md/);
    fails({ file: yaml('dns_ports: [53]\n') }, 'dns_ports', /did you mean 'dnsPorts'\?/);
    fails({ file: yaml('learning-period: 1h\n') }, 'learning-period', /did you mean 'learningPeriod'\?/);
    fails({ file: yaml('interface: eth0\n') }, 'interface', /did you mean 'interfaces'\?/);
    fails({ file: yaml('statsJson: true\n') }, 'statsJson', /command-line flag only/);
  });

  it('a bad file value names the key, the file and the other names', () => {
    const f = yaml('alertDelay: soon\n');
    fails({ file: f }, 'alertDelay', new RegExp(`invalid alertDelay 'soon' in ${f}: expected a duration`),
      /flag --alert-delay/, /env EGRESSWATCH_ALERT_DELAY/);
  });

  it('a bare number for a duration in the file asks for a unit', () => {
    fails({ file: yaml('tcpIdleTimeout: 300\n') }, 'tcpIdleTimeout', /a unit is required/);
  });

  it('a bad env value names the variable', () => {
    fails({ env: { EGRESSWATCH_SNAP_LENGTH: 'big' } }, 'snapLength', /invalid EGRESSWATCH_SNAP_LENGTH 'big': expected a whole number/);
  });

  const flagCases: [Record<string, unknown>, string, RegExp][] = [
    [{ 'learning-period': 'abc' }, 'learningPeriod', /invalid --learning-period 'abc'/],
    [{ 'learning-period': '400d' }, 'learningPeriod', /must be between 0 and 365d/],
    [{ 'baseline-window': '10m' }, 'baselineWindow', /must be between/],
    [{ 'alert-delay': '1h' }, 'alertDelay', /must be between 0 and 10m/],
    [{ 'snap-length': '95' }, 'snapLength', /between 96 and 262144/],
    [{ 'snap-length': '262145' }, 'snapLength', /between 96 and 262144/],
    [{ 'dns-cache-size': '999' }, 'dnsCacheSize', /between 1000/],
    [{ 'dns-cache-size': '1e5' }, 'dnsCacheSize', /whole number/],
    [{ 'capture-buffer': '4096' }, 'captureBuffer', /between 1MiB/],
    [{ 'capture-buffer': 'huge' }, 'captureBuffer', /size like/],
    [{ 'dns-port': '0' }, 'dnsPorts', /port number 1-65535/],
    [{ 'dns-port': ['53', '65536'] }, 'dnsPorts', /'65536'/],
    [{ 'dns-port': 'domain' }, 'dnsPorts', /port number/],
    [{ 'internal-cidr': '10.0.0.0' }, 'internalCidrs', /expected a CIDR/],
    [{ 'external-cidr': ['192.0.2.0/24', '300.1.1.0/24'] }, 'externalCidrs', /'300\.1\.1\.0\/24'/],
    [{ 'external-cidr': '2001:db8::/129' }, 'externalCidrs', /expected a CIDR/],
    [{ interface: '' }, 'interfaces', /at least one interface/],
    [{ interface: 'averyveryverylongname' }, 'interfaces', /1-15 characters/],
    [{ interface: 'eth0/1' }, 'interfaces', /without '\/'/],
    [{ interface: ['any', 'eth0'] }, 'interfaces', /'any' already covers/],
    [{ 'metrics-listen': '9500' }, 'metricsListen', /HOST:PORT/],
    [{ 'metrics-listen': '::1:9500' }, 'metricsListen', /\[::1\]:9500/],
    [{ 'metrics-listen': '127.0.0.1:70000' }, 'metricsListen', /port 1-65535/],
    [{ 'metrics-listen': '[zz::1]:9500' }, 'metricsListen', /HOST:PORT/],
    [{ 'metrics-listen': '300.0.0.1:9500' }, 'metricsListen', /HOST:PORT/],
    [{ proxy: 'proxy.corp.example:3128' }, 'proxies', /an address, not a name/],
    [{ proxy: '10.0.0.8' }, 'proxies', /10\.0\.0\.8:3128/],
    [{ proxy: '10.0.0.8:0' }, 'proxies', /IP address and port/],
    [{ proxy: '2001:db8::8:3128' }, 'proxies', /\[2001:db8::8\]:3128/],
    [{ proxy: '10.0.0:3128' }, 'proxies', /IP address and port/],
    [{ 'log-level': 'verbose' }, 'logLevel', /one of error, warn, info, debug/],
    [{ stdout: 'maybe' }, 'stdout', /true or false/],
    [{ 'state-dir': '' }, 'stateDir', /non-empty/],
    [{ 'host-name': '  ' }, 'hostName', /non-empty/],
  ];
  for (const [flags, setting, pattern] of flagCases) {
    it(`rejects ${JSON.stringify(flags)}`, () => {
      const flag = Object.keys(flags)[0];
      fails({ flags }, setting, pattern, new RegExp(`^invalid --${flag} '`));
    });
  }

  it('validates a value even when a later source overrides it', () => {
    fails({ env: { EGRESSWATCH_ALERT_DELAY: 'x' }, flags: { 'alert-delay': '1s' } }, 'alertDelay', /EGRESSWATCH_ALERT_DELAY/);
  });
});
