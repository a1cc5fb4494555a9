#!/usr/bin/env node
// One-step set-up for a fresh Debian machine with Node.js, called by `npm start` and `npm test`.
//   1. As root, apt-get installs what is missing: libpcap-dev and a C++ tool chain for the
//      native addons; with --test also the tools the tests drive for real (dnsmasq, tshark,
//      iproute2, curl, a JDK, python3, logrotate, an NSS module; the list below).
//   2. `npm install` when node_modules is missing or older than package.json.
// Not root and something missing: it says what to install and goes on (the build or the
// test that needs it then fails with its own message).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const forTest = process.argv.includes('--test');

function log(msg) {
  process.stderr.write(`[setup] ${msg}\n`);
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function dpkgInstalled(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

// package → a check that tells whether what we need from it is already there.
const runtimeNeeds = [
  ['libpcap-dev', () => fs.existsSync('/usr/include/pcap.h') || fs.existsSync('/usr/include/pcap/pcap.h')],
  ['g++', () => have('g++')],
  ['make', () => have('make')],
  ['python3', () => have('python3')],
];
const testNeeds = [
  ['dnsmasq-base', () => have('dnsmasq') || fs.existsSync('/usr/sbin/dnsmasq')],
  ['tshark', () => have('tshark')],
  ['iproute2', () => have('ip') || fs.existsSync('/usr/sbin/ip') || fs.existsSync('/sbin/ip')],
  ['curl', () => have('curl')],
  ['default-jdk-headless', () => have('javac') && have('jar') && have('java')],
  ['procps', () => have('ps')],
  ['util-linux', () => have('setpriv')],
  ['nftables', () => have('nft') || fs.existsSync('/usr/sbin/nft')],
  ['logrotate', () => have('logrotate') || fs.existsSync('/usr/sbin/logrotate')],
  ['rsyslog', () => have('rsyslogd') || fs.existsSync('/usr/sbin/rsyslogd')],
  ['rsyslog-gnutls', () => fs.existsSync('/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so') || fs.existsSync('/usr/lib/aarch64-linux-gnu/rsyslog/lmnsd_gtls.so')],
  ['openssl', () => have('openssl')],
  // Compressed capture files (test/capture/compressed.test.ts): made with the real tools.
  ['gzip', () => have('gzip')],
  ['zstd', () => have('zstd')],
  ['lz4', () => have('lz4')],
  ['xz-utils', () => have('xz')],
  ['bzip2', () => have('bzip2')],
  // A real HTTP proxy for connections through a proxy (test/integration/proxy.test.ts).
  ['tinyproxy', () => have('tinyproxy') || fs.existsSync('/usr/bin/tinyproxy')],
  // A real NSS module with users no passwd file lists (test/procfs/name-service.test.ts).
  ['libnss-extrausers', () => ['/usr/lib/libnss_extrausers.so.2', '/lib/libnss_extrausers.so.2', '/usr/lib/x86_64-linux-gnu/libnss_extrausers.so.2'].some((f) => fs.existsSync(f))],
];

const needs = forTest ? [...runtimeNeeds, ...testNeeds] : runtimeNeeds;
const missing = needs.filter(([pkg, check]) => !check() && !dpkgInstalled(pkg)).map(([pkg]) => pkg);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

if (missing.length > 0) {
  if (isRoot && have('apt-get')) {
    log(`installing with apt-get: ${missing.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
  } else {
    log(`missing system packages: ${missing.join(' ')}`);
    log(`install them with: sudo apt-get install -y ${missing.join(' ')}`);
  }
}

const stamp = path.join(root, 'node_modules', '.package-lock.json');
const pkgJson = path.join(root, 'package.json');
const stale = !fs.existsSync(stamp) || fs.statSync(stamp).mtimeMs < fs.statSync(pkgJson).mtimeMs
  || !fs.existsSync(path.join(root, 'node_modules', 'pcap', 'build', 'Release', 'pcap_binding.node'));
if (stale) {
  log('installing npm dependencies');
  execFileSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}
