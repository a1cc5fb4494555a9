import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcFs } from '../../lib/procfs/index.js';
import { ContainerCatalog, containerFromCgroup, identifySoftware, SoftwareContext } from '../../lib/software/index.js';
import { FIXTURES_DIR, haveCommand, isRoot, requirePrereq } from '../helpers/env.js';
import { firstLine } from '../helpers/stream.js';
import { FakeProc } from '../procfs/faketree.js';

/** Makes a pool of one worker with the start method given; the worker prints its pid and waits. */
const POOL_MAIN = `import multiprocessing as mp, os, sys, time
def work(_):
    print(os.getpid(), flush=True)
    time.sleep(10)
if __name__ == '__main__':
    with mp.get_context(sys.argv[1]).Pool(1) as pool:
        pool.map(work, [0])
`;

const HOSTROOT = path.join(FIXTURES_DIR, 'software', 'hostroot');
const DPKGROOT = path.join(FIXTURES_DIR, 'software', 'dpkgroot');
const K8S_ID = '3f4e1a2b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f';
const POD_UID = '7d9c1c4a-5e2b-4f3a-9c1d-2e8f0b6a4d31';
const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('software/SoftwareContext on a fake proc tree', () => {
  let tree: FakeProc;
  let croot: string;
  let hroot: string;
  beforeEach(() => {
    tree = new FakeProc();
    croot = path.join(tree.root, 'rootfs-nginx');
    hroot = path.join(tree.root, 'rootfs-host');
    fs.cpSync(DPKGROOT, croot, { recursive: true, verbatimSymlinks: true });
    fs.mkdirSync(path.join(croot, 'etc'));
    fs.writeFileSync(path.join(croot, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnginx:x:101:101:nginx user:/nonexistent:/bin/false\n');
    fs.mkdirSync(path.join(hroot, 'opt/app/conf'), { recursive: true });
    fs.writeFileSync(path.join(hroot, 'opt/app/billing-2.3.1.jar'), 'PK\x03\x04 fake jar\n');
    fs.writeFileSync(path.join(hroot, 'opt/app/conf/jvm.args'), '-Xmx512m\n-cp /opt/app/lib/*\ncom.acme.billing.Main\n');
    tree.addPid(1, { comm: 'systemd', ppid: 0, uid: 0, argv: ['/sbin/init'], exe: '/usr/lib/systemd/systemd' });
    tree.addPid(300, { comm: 'containerd-shim', ppid: 1, uid: 0, argv: ['/usr/bin/containerd-shim-runc-v2', '-namespace', 'k8s.io'], exe: '/usr/bin/containerd-shim-runc-v2' });
    tree.addPid(310, { comm: 'nginx', ppid: 300, uid: 101, argv: ['nginx: worker process'], exe: '/usr/sbin/nginx', cwd: '/' });
    fs.symlinkSync(croot, path.join(tree.root, '310', 'root'));
    fs.writeFileSync(path.join(tree.root, '310', 'cgroup'), `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_UID.replace(/-/g, '_')}.slice/cri-containerd-${K8S_ID}.scope\n`);
    tree.addPid(400, { comm: 'java', ppid: 1, uid: 1001, argv: ['/usr/bin/java', '-jar', 'billing-2.3.1.jar'], exe: '/usr/lib/jvm/java-17-openjdk-amd64/bin/java', cwd: '/opt/app' });
    tree.addPid(410, { comm: 'java', ppid: 1, uid: 1001, argv: ['java', '@conf/jvm.args', '--port', '8080'], exe: '/usr/lib/jvm/java-17-openjdk-amd64/bin/java', cwd: '/opt/app' });
    for (const pid of [400, 410]) {
      fs.symlinkSync(hroot, path.join(tree.root, String(pid), 'root'));
      fs.writeFileSync(path.join(tree.root, String(pid), 'cgroup'), '0::/system.slice/billing.service\n');
    }
  });
  afterEach(() => tree.cleanup());

  const context = (extra: Partial<ConstructorParameters<typeof SoftwareContext>[0]> = {}): SoftwareContext =>
    new SoftwareContext({ proc: new ProcFs(tree.root), hostRoot: HOSTROOT, parentDepth: 4, normalizeVersions: true, ...extra });

  it('a containerised nginx worker: in-container id, image key, pod, container user, main file from the container root', async () => {
    const d = await context().describe(310);
    assert.ok(d);
    assert.deepEqual(d.software, { id: '/usr/sbin/nginx', kind: 'executable' });
    assert.equal(d.softwareKey, 'docker.io/library/nginx');
    assert.equal(d.container?.id, K8S_ID);
    assert.equal(d.container?.name, 'nginx');
    assert.deepEqual(d.container?.pod, { name: 'web-7d4b9c8f6-x2x9k', namespace: 'shop', uid: POD_UID });
    assert.equal(d.process.userName, 'nginx');
    assert.deepEqual(d.process.parents?.map((p) => p.pid), [300, 1]);
    assert.equal(d.mainFile?.path, '/usr/sbin/nginx');
    assert.equal(d.mainFile?.sha256, sha(path.join(croot, 'usr/sbin/nginx')));
    assert.deepEqual(d.mainFile?.package, { name: 'nginx', version: '1.22.1-9', manager: 'dpkg' });
  });

  it('normalizeVersions false keys the container by image:tag; no catalog leaves id and pod uid', async () => {
    assert.equal((await context({ normalizeVersions: false }).describe(310))?.softwareKey, 'docker.io/library/nginx:1.25.3');
    const bare = await context({ catalog: false, files: false }).describe(310);
    assert.deepEqual(bare?.container, { id: K8S_ID, runtime: 'containerd', pod: { uid: POD_UID } });
    assert.equal(bare?.softwareKey, '/usr/sbin/nginx');
    assert.equal(bare?.mainFile, undefined);
  });

  it('a host java -jar: the JAR is the main file, the key drops its version', async () => {
    const d = await context().describe(400);
    assert.deepEqual(d?.software, { id: '/opt/app/billing-2.3.1.jar', kind: 'jar', interpreter: '/usr/lib/jvm/java-17-openjdk-amd64/bin/java' });
    assert.equal(d?.softwareKey, '/opt/app/billing-*.jar');
    assert.equal(d?.container, undefined);
    assert.equal(d?.mainFile?.sha256, sha(path.join(hroot, 'opt/app/billing-2.3.1.jar')));
    assert.equal(d?.process.userName, 'svc-billing', 'no passwd in that root: the host file under hostRoot');
    assert.equal((await context({ normalizeVersions: false }).describe(400))?.softwareKey, '/opt/app/billing-2.3.1.jar');
  });

  it('java @argfile is read inside the process root, relative to its cwd', async () => {
    const d = await context().describe(410);
    assert.deepEqual(d?.software, { id: 'com.acme.billing.Main', kind: 'java-class', interpreter: '/usr/lib/jvm/java-17-openjdk-amd64/bin/java' });
    fs.rmSync(path.join(hroot, 'opt/app/conf/jvm.args'));
    assert.equal((await context().describe(410))?.software.kind, 'java-argfile');
  });

  it('a vanished process is undefined', async () => {
    tree.removePid(400);
    assert.equal(await context().describe(400), undefined);
  });

  it('reuses the catalog it is given', async () => {
    const catalog = new ContainerCatalog({ hostRoot: HOSTROOT });
    const ctx = context({ catalog });
    await ctx.describe(310);
    await ctx.describe(310);
    assert.equal(catalog.stats.lookups, 2);
    assert.equal(catalog.stats.hits, 1);
  });
});

describe('software/SoftwareContext on the real /proc', () => {
  it('describes this test process', async () => {
    const d = await new SoftwareContext({ proc: new ProcFs('/proc'), hostRoot: '/', parentDepth: 4, normalizeVersions: true }).describe(process.pid);
    assert.ok(d);
    assert.equal(d.process.pid, process.pid);
    assert.equal(d.process.exe, fs.readlinkSync('/proc/self/exe'));
    assert.equal(d.process.ppid, process.ppid);
    assert.equal(d.process.parents?.[0]?.pid, process.ppid);
    const expected = identifySoftware({ exe: d.process.exe, argv: d.process.argv, cwd: process.cwd() });
    assert.deepEqual(d.software, expected);
    assert.equal(d.software.interpreter, fs.readlinkSync('/proc/self/exe'), 'node runs mocha: an interpreter with a script');
    assert.equal(d.software.kind, 'script');
    assert.equal(d.mainFile?.path, d.software.id);
    assert.equal(d.mainFile?.sha256, sha(fs.realpathSync(d.software.id)));
    assert.equal(d.container?.id, containerFromCgroup(fs.readFileSync('/proc/self/cgroup', 'utf8'))?.id);
    assert.equal(d.process.uid, process.getuid?.());
  });

  for (const method of ['spawn', 'forkserver']) {
    it(`a Python pool's worker (multiprocessing ${method}) is the script that made the pool, not "python3 -c"`, async function () {
      this.timeout(20_000);
      requirePrereq(this, haveCommand('python3'), 'python3');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ew-pool-'));
      const script = path.join(dir, 'pool_main.py');
      fs.writeFileSync(script, POOL_MAIN);
      const main = spawn('python3', [script, method], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
      try {
        const worker = Number(await firstLine(main.stdout!));
        assert.ok(Number.isInteger(worker) && worker !== main.pid, `the worker's pid: ${worker}`);
        const d = await new SoftwareContext({ proc: new ProcFs('/proc'), hostRoot: '/', catalog: false, files: false }).describe(worker);
        assert.ok(d, 'the worker described');
        assert.match(d.process.commandLine, new RegExp(`from multiprocessing\\.${method === 'spawn' ? 'spawn' : 'forkserver'} import`), 'a bootstrap one-liner');
        assert.equal(d.software.id, script);
        assert.equal(d.software.kind, 'script');
      } finally {
        try { process.kill(-main.pid!, 'SIGKILL'); } catch { /* gone */ }
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('names the systemd unit a real process runs in, from the cgroup the kernel shows (cgroup v2, and v1 name=systemd)', async function () {
    this.timeout(10_000);
    // Cgroups of our own, named as systemd names units, on the hierarchies this kernel has mounted.
    const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' '));
    const v2 = mounts.find((m) => m[2] === 'cgroup2')?.[1];
    const v1 = mounts.find((m) => m[2] === 'cgroup' && m[3]?.split(',').includes('name=systemd'))?.[1];
    requirePrereq(this, isRoot() && (v2 !== undefined || v1 !== undefined), 'root and a mounted cgroup2 or name=systemd hierarchy');
    const ctx = new SoftwareContext({ proc: new ProcFs('/proc'), hostRoot: '/', parentDepth: 0, normalizeVersions: true, catalog: false, files: false });
    const sfx = randomBytes(3).toString('hex');
    for (const [label, root] of [['v2', v2], ['v1', v1]] as const) {
      if (root === undefined) continue;
      const slice = path.join(root, `ewtest-${sfx}.slice`);
      const unit = path.join(slice, `ewtest-${label}-${sfx}.service`);
      fs.mkdirSync(unit, { recursive: true });
      const child = spawn('sleep', ['30'], { stdio: 'ignore' });
      try {
        fs.writeFileSync(path.join(unit, 'cgroup.procs'), String(child.pid));
        const d = await ctx.describe(child.pid as number);
        assert.equal(d?.unit, `ewtest-${label}-${sfx}.service`, `${label}: ${fs.readFileSync(`/proc/${child.pid}/cgroup`, 'utf8')}`);
      } finally {
        child.kill('SIGKILL');
        await once(child, 'exit');
        // The kernel takes the dead process out of the cgroup a moment after it is reaped.
        for (let i = 0; i < 50; i++) {
          try {
            fs.rmdirSync(unit);
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 20));
          }
        }
        fs.rmdirSync(slice);
      }
    }
  });

  it('real programs that rename their process (node process.title, perl $0) are named by their title', async function () {
    this.timeout(10_000);
    const ctx = new SoftwareContext({ proc: new ProcFs('/proc'), hostRoot: '/', parentDepth: 1, normalizeVersions: true });
    const programs: [string, string[], string, string][] = [
      [process.execPath, ['-e', "process.title = 'my-api worker [3 busy]'; setTimeout(() => {}, 5000)"], 'my-api', 'process-title'],
      ['perl', ['-e', '$0 = "spamd child"; sleep 5'], 'spamd', 'process-title'],
      ['perl', ['-e', '$0 = "/usr/sbin/amavisd (master)"; sleep 5'], '/usr/sbin/amavisd', 'script'],
    ];
    for (const [cmd, args, id, kind] of programs) {
      if (cmd === 'perl' && !haveCommand('perl')) continue;
      const child = spawn(cmd, args, { stdio: 'ignore' });
      try {
        // The title is set once the program runs; read until it is.
        let d: Awaited<ReturnType<SoftwareContext['describe']>>;
        for (let i = 0; i < 50; i++) {
          d = await ctx.describe(child.pid as number);
          if (d && d.process.argv.length === 1) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.ok(d, `${cmd} described`);
        assert.deepEqual([d.software.id, d.software.kind], [id, kind], `${cmd} ${args.join(' ')}: ${JSON.stringify(d.process.argv)}`);
        assert.equal(d.software.interpreter, d.process.exe);
      } finally {
        child.kill();
      }
    }
  });
});
