// deploy/Dockerfile, checked structurally on every run (the real build with buildah is opt-in,
// image-build.test.ts): the file is parsed into its instructions (line continuations and comments handled as the
// Dockerfile reference says) and its stages, packages, build steps and entry point are
// compared with what the agent and the DaemonSet expect.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import os from 'node:os';
import { REPO_ROOT, corpusFile, requirePrereq } from '../helpers/env.js';
import { at } from './paths.js';
import { describeResult, runSync } from './run.js';

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string;
  body: Instruction[];
}

/** The stages; FROM's `${ARG}` is replaced with the default of an ARG declared before the first FROM. */
function parseDockerfile(text: string): Stage[] {
  const logical = text.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n').replace(/\\\n/g, ' ');
  const stages: Stage[] = [];
  const globalArgs = new Map<string, string>();
  for (const line of logical.split('\n')) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const ins = { op: m[1].toUpperCase(), args: m[2].replace(/\s+/g, ' ').trim() };
    if (ins.op === 'ARG' && stages.length === 0) {
      const a = /^(\w+)=(\S+)$/.exec(ins.args);
      assert.ok(a, `global ARG without a default: ${ins.args}`);
      globalArgs.set(a[1], a[2]);
    } else if (ins.op === 'FROM') {
      const f = /^(\S+)(?: AS (\S+))?$/i.exec(ins.args);
      assert.ok(f, `bad FROM ${ins.args}`);
      const from = f[1].replace(/\$\{(\w+)\}/g, (_, n: string) => {
        assert.ok(globalArgs.has(n), `FROM uses undeclared ARG ${n}`);
        return globalArgs.get(n)!;
      });
      stages.push({ from, name: f[2], body: [] });
    } else {
      assert.ok(stages.length > 0, `${ins.op} before FROM`);
      stages[stages.length - 1].body.push(ins);
    }
  }
  return stages;
}

/** Packages named by `apt-get install` in a stage's RUN lines. */
function aptPackages(stage: Stage): string[] {
  return stage.body.filter((i) => i.op === 'RUN').flatMap((i) => {
    const m = /apt-get install ((?:-\S+ )*)([^&;|]+)/.exec(i.args);
    return m ? m[2].trim().split(' ') : [];
  });
}

const runs = (stage: Stage): string[] => stage.body.filter((i) => i.op === 'RUN').flatMap((i) => i.args.split('&&').map((s) => s.trim()));
const json = (stage: Stage, op: string): unknown => {
  const i = stage.body.find((x) => x.op === op);
  assert.ok(i, `no ${op}`);
  return JSON.parse(i.args);
};

describe('deploy: Dockerfile (structural)', () => {
  const stages = parseDockerfile(fs.readFileSync(path.join(REPO_ROOT, 'deploy', 'Dockerfile'), 'utf8'));
  const [build, runtime] = stages;

  it('two stages: node 20 bookworm to build, bookworm-slim to run', () => {
    assert.equal(stages.length, 2);
    assert.equal(build.from, 'node:20-bookworm');
    assert.equal(build.name, 'build');
    assert.equal(runtime.from, 'node:20-bookworm-slim');
  });

  it('the build stage has the addon tool chain, npm ci, the build and a production prune in that order', () => {
    assert.deepEqual(aptPackages(build).sort(), ['g++', 'libpcap-dev', 'make', 'python3']);
    const steps = runs(build);
    const order = ['npm ci', 'npm run build', 'npm prune --omit=dev'].map((s) => steps.indexOf(s));
    assert.ok(order.every((i) => i >= 0), `missing steps in ${JSON.stringify(steps)}`);
    assert.deepEqual([...order].sort((a, b) => a - b), order, 'steps out of order');
    // package-lock.json must be in the image before npm ci, or ci refuses to run.
    const copyLock = build.body.findIndex((i) => i.op === 'COPY' && i.args.includes('package-lock.json'));
    const ci = build.body.findIndex((i) => i.op === 'RUN' && i.args.includes('npm ci'));
    assert.ok(copyLock >= 0 && copyLock < ci, 'package-lock.json copied after npm ci');
  });

  it('the runtime stage adds only libpcap and the built agent', () => {
    assert.deepEqual(aptPackages(runtime), ['libpcap0.8']);
    const fromBuild = runtime.body.filter((i) => i.op === 'COPY' && i.args.startsWith('--from=build')).map((i) => i.args.split(' ')[1]);
    assert.deepEqual(fromBuild.sort(), ['/src/dist', '/src/native/build/Release/egresswatch_netlink.node', '/src/node_modules', '/src/package.json']);
    assert.ok(!runs(runtime).some((r) => r.startsWith('npm ')), 'npm runs in the runtime stage');
  });

  it('ENTRYPOINT runs the agent and CMD matches the DaemonSet\'s args', () => {
    assert.deepEqual(json(runtime, 'ENTRYPOINT'), ['node', '--max-semi-space-size=16', '/opt/egresswatch/dist/agent/cli.js']);
    const workdir = runtime.body.find((i) => i.op === 'WORKDIR')?.args;
    assert.equal(workdir, '/opt/egresswatch');
    // dist/agent/cli.js relative to the WORKDIR the dist folder is copied into.
    assert.ok(fs.existsSync(path.join(REPO_ROOT, 'dist', 'agent', 'cli.js')));
    const cmd = json(runtime, 'CMD') as string[];
    assert.deepEqual(cmd, ['run', '--proc-root', '/host/proc', '--host-root', '/host']);
    const ds = parseYaml(fs.readFileSync(path.join(REPO_ROOT, 'deploy', 'kubernetes', 'daemonset.yaml'), 'utf8')) as unknown;
    const args = at(ds, 'spec.template.spec.containers.0.args') as string[];
    assert.deepEqual(args.slice(0, cmd.length), cmd, 'the DaemonSet drops part of the image\'s default command');
    assert.equal(at(ds, 'spec.template.spec.containers.0.command'), undefined, 'the DaemonSet must keep the ENTRYPOINT');
  });

  it('every COPY source exists and is not excluded by .dockerignore', () => {
    const ignore = fs.readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const sources = stages.flatMap((s) => s.body).filter((i) => i.op === 'COPY' && !i.args.startsWith('--from')).flatMap((i) => i.args.split(' ').slice(0, -1));
    assert.ok(sources.includes('lib') && sources.includes('agent'));
    for (const src of sources) {
      assert.ok(fs.existsSync(path.join(REPO_ROOT, src)), `${src} missing`);
      assert.ok(!ignore.some((p) => src === p || src.startsWith(`${p}/`)), `${src} is in .dockerignore`);
    }
  });

  it('the build stage\'s steps, replayed here on its COPY sources only, give a runnable agent', function () {
    // No engine to build the image, so the build stage is replayed in a temp dir: only the
    // files its COPY lines bring in, the checkout's node_modules in place of `npm ci` (no
    // network in tests), then its build and prune. The pruned tree must still run: proof
    // that no runtime import needs a devDependency or a file the image leaves out.
    this.timeout(240_000);
    const pcap = corpusFile('tcpdump/dns_tcp.pcap');
    requirePrereq(this, fs.existsSync(pcap), `corpus capture ${pcap}`);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-image-'));
    try {
      const sources = build.body.filter((i) => i.op === 'COPY').flatMap((i) => i.args.split(' ').slice(0, -1));
      for (const src of sources) fs.cpSync(path.join(REPO_ROOT, src), path.join(tmp, src), { recursive: true });
      fs.cpSync(path.join(REPO_ROOT, 'node_modules'), path.join(tmp, 'node_modules'), { recursive: true, verbatimSymlinks: true });
      const npm = (args: string[]) => {
        const r = runSync('npm', [...args, '--offline', '--no-audit', '--no-fund'], { cwd: tmp, timeoutMs: 180_000 });
        assert.equal(r.code, 0, `npm ${args.join(' ')}: ${describeResult(r)}`);
      };
      // Every step but the package installs: npm ones offline, the others (the strict addon
      // build) through the shell as the image's RUN does.
      for (const step of runs(build).filter((r) => r !== 'npm ci' && !/apt-get|\/var\/lib\/apt/.test(r))) {
        if (step.startsWith('npm ')) npm(step.split(' ').slice(1));
        else {
          const r = runSync('sh', ['-c', step], { cwd: tmp, timeoutMs: 180_000 });
          assert.equal(r.code, 0, `${step}: ${describeResult(r)}`);
        }
      }
      assert.ok(fs.existsSync(path.join(tmp, 'native', 'build', 'Release', 'egresswatch_netlink.node')), 'netlink addon built');
      assert.ok(!fs.existsSync(path.join(tmp, 'node_modules', 'typescript')), 'prune left devDependencies');
      const [node, ...rest] = json(runtime, 'ENTRYPOINT') as string[];
      assert.equal(node, 'node');
      const cli = rest[rest.length - 1];
      const r = runSync(process.execPath, [...rest.slice(0, -1), path.join(tmp, path.relative('/opt/egresswatch', cli)), 'replay', '--state-dir', path.join(tmp, 'state'),
        '--alerts-file', path.join(tmp, 'alerts.json'), '--stats-json', pcap], { cwd: tmp, timeoutMs: 30_000 });
      assert.equal(r.code, 0, describeResult(r));
      assert.ok((JSON.parse(r.stdout.trim()) as { packets: number }).packets > 0);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
