// Building deploy/Dockerfile without a registry: buildah (Debian's package) builds the file as
// it is, from local stand-ins for its two base images, since node:20-bookworm cannot be
// pulled here. A stand-in is Debian bookworm from Debian's own packages (mmdebstrap, variant
// apt) plus this machine's Node 20 (node, npm, corepack and the headers node-gyp needs), so it
// differs from the official image in what node-gyp and npm do not touch: the official image has
// build tools preinstalled (the Dockerfile installs its own) and node under /usr/local. It also
// carries this machine's CA bundle (NODE_EXTRA_CA_CERTS), as a base image used behind a
// TLS-inspecting proxy would: npm ci in the build stage reaches the registry the way the host does.
// And npm_config_nodedir points node-gyp at the headers it carries, as this machine's npm does:
// the official image's node-gyp downloads them from the Node.js site, which is not reachable here.
// Everything lives in a private buildah storage under a temp dir, removed afterwards.
import fs from 'node:fs';
import path from 'node:path';
import { describeResult, runSync, type Result } from './run.js';

export class Buildah {
  readonly root: string;

  constructor(readonly dir: string) {
    this.root = path.join(dir, 'storage');
  }

  run(args: string[], timeoutMs = 120_000, cwd?: string): Result {
    return runSync('buildah', ['--root', path.join(this.root, 'root'), '--runroot', path.join(this.root, 'run'),
      '--storage-driver', 'vfs', ...args], { timeoutMs, cwd });
  }

  ok(args: string[], timeoutMs?: number, cwd?: string): string {
    const r = this.run(args, timeoutMs, cwd);
    if (r.code !== 0) throw new Error(`buildah ${args.join(' ')}: ${describeResult(r)}`);
    return r.stdout.trim();
  }

  /** Removes every container and image of this private storage, then the storage itself. */
  destroy(): void {
    this.run(['umount', '--all']);
    this.run(['rm', '--all']);
    this.run(['rmi', '--all', '--force']);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The files of this machine's Node install that a node:20 image provides. */
export const NODE_FILES = ['usr/bin/node', 'usr/bin/npm', 'usr/bin/npx', 'usr/bin/corepack', 'usr/include/node', 'usr/lib/node_modules'];

export const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** Builds the stand-in base image `name` from a bookworm tree tarball and the local Node. */
export function standInBase(b: Buildah, rootfsTar: string, name: string): void {
  const c = b.ok(['from', 'scratch']);
  const mnt = b.ok(['mount', c]);
  const steps: [string, string[]][] = [
    ['tar', ['-C', mnt, '-xf', rootfsTar]],
    ['sh', ['-c', `tar -C / -cf - ${NODE_FILES.join(' ')} | tar -C '${mnt}' -xf -`]],
    ['sh', ['-c', `mkdir -p '${mnt}/etc/ssl/certs' && cp ${CA_BUNDLE} '${mnt}${CA_BUNDLE}'`]],
  ];
  for (const [cmd, args] of steps) {
    const r = runSync(cmd, args, { timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`${cmd}: ${describeResult(r)}`);
  }
  b.ok(['umount', c]);
  b.ok(['config', '--cmd', '["node"]', '--env', `NODE_EXTRA_CA_CERTS=${CA_BUNDLE}`, '--env', 'npm_config_nodedir=/usr', '--env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', c]);
  b.ok(['commit', '-q', c, name], 600_000);
  b.ok(['rm', c]);
}

/** Debian bookworm with apt (mmdebstrap, from this machine's apt sources), as a tarball; cached under cacheDir. */
export function bookwormTar(cacheDir: string): string {
  const out = path.join(cacheDir, 'bookworm-apt.tar');
  if (fs.existsSync(out) && fs.statSync(out).isFile() && fs.statSync(out).size > 0) return out;
  fs.mkdirSync(cacheDir, { recursive: true });
  const tmp = path.join(cacheDir, 'bookworm-apt.partial.tar');
  const r = runSync('mmdebstrap', ['--variant=apt', '--format=tar', 'bookworm', tmp], { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`mmdebstrap: ${describeResult(r)}`);
  fs.renameSync(tmp, out);
  return out;
}
