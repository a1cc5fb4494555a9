#!/usr/bin/env node
/* global process */
// Builds the optional netlink addon (native/netlink.c) with node-gyp, the way npm builds the
// pcap addon. Called by `npm run build` before tsc. The agent runs without the addon (it then
// reads /proc/net/* as before), so a failed build prints why and exits 0; `--strict` makes it
// fail instead (for CI images that must ship the addon).
// Skipped when the built file is newer than its sources.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(dir, 'build', 'Release', 'egresswatch_netlink.node');
const sources = ['netlink.c', 'tracer.c', 'execwatch.c', 'napi_util.h', 'binding.gyp'].map((f) => path.join(dir, f));
const strict = process.argv.includes('--strict');

function log(msg) {
  process.stderr.write(`[native] ${msg}\n`);
}

function upToDate() {
  if (!fs.existsSync(out)) return false;
  const built = fs.statSync(out).mtimeMs;
  return sources.every((f) => fs.statSync(f).mtimeMs <= built);
}

/** node-gyp as npm ships it (beside npm's own code), else one on PATH. */
function nodeGyp() {
  const npmCli = process.env.npm_execpath;
  const candidates = [];
  if (npmCli) candidates.push(path.join(path.dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  try {
    const npmDir = path.dirname(createRequire(import.meta.url).resolve('npm/package.json', { paths: [path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules')] }));
    candidates.push(path.join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  } catch { /* npm not installed beside node */ }
  const found = candidates.find((c) => fs.existsSync(c));
  return found ? [process.execPath, found] : ['node-gyp'];
}

/**
 * Node's own headers: npm's `nodedir` setting when run through npm, else the headers installed
 * beside this node (/usr/include/node for Debian's nodejs). Without one node-gyp would try to
 * download them, which a build machine without internet access cannot.
 */
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [`--nodedir=${process.env.npm_config_nodedir}`];
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

if (process.platform !== 'linux') {
  log('netlink addon skipped: not Linux');
} else if (upToDate()) {
  // Nothing to do.
} else {
  const [cmd, ...pre] = nodeGyp();
  const r = spawnSync(cmd, [...pre, 'rebuild', '--silent', ...nodedirArgs()], { cwd: dir, encoding: 'utf8', env: process.env, maxBuffer: 16 << 20 });
  if (r.status === 0 && fs.existsSync(out)) {
    log(`built ${path.relative(process.cwd(), out)}`);
  } else {
    const why = r.error ? r.error.message : `node-gyp exited ${r.status}`;
    process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').slice(-15).join('\n'));
    log(`netlink addon not built (${why}); the agent will read /proc/net/* instead`);
    if (strict) process.exit(1);
  }
}
