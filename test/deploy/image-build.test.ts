// deploy/Dockerfile built for real with buildah, then the image inspected and run: the agent
// replays a capture inside it (the pcap addon loads against the runtime stage's libpcap), the
// netlink addon loads, the build tool chain and devDependencies are not in it, and its
// configuration (entry point, command, uid, port) is what the DaemonSet expects.
//
// Opt-in (EGRESSWATCH_IMAGE_BUILD=1): it downloads a Debian tree and every npm dependency and
// takes minutes. No registry serves the base images here, so they are stand-ins (see image.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, corpusFile, haveCommand, isRoot, requirePrereq } from '../helpers/env.js';
import { Buildah, CA_BUNDLE, NODE_FILES, bookwormTar, standInBase } from './image.js';

const IMAGE = 'localhost/egresswatch:test';
const BASE = 'localhost/egresswatch-test/node:20-bookworm';
const CLI = '/opt/egresswatch/dist/agent/cli.js';

interface ImageConfig {
  config: { Entrypoint?: string[]; Cmd?: string[]; User?: string; WorkingDir?: string; ExposedPorts?: Record<string, unknown> };
}

describe('deploy: the image built from deploy/Dockerfile (buildah)', function () {
  this.timeout(45 * 60_000);
  let b: Buildah | undefined;
  let container = '';
  const pcap = corpusFile('tcpdump/dns_tcp.pcap');

  before(function () {
    if (process.env.EGRESSWATCH_IMAGE_BUILD !== '1') this.skip(); // opt-in, see the file comment
    requirePrereq(this, isRoot(), 'root (buildah with chroot isolation)');
    requirePrereq(this, haveCommand('buildah') && haveCommand('mmdebstrap'), 'buildah and mmdebstrap (apt-get install buildah mmdebstrap)');
    requirePrereq(this, process.version.startsWith('v20.') && [...NODE_FILES, CA_BUNDLE.slice(1)].every((f) => fs.existsSync(`/${f}`)),
      `Node 20 installed under /usr with npm and headers (${NODE_FILES.join(', ')})`);
    requirePrereq(this, fs.existsSync(pcap), `corpus capture ${pcap}`);
    b = new Buildah(fs.mkdtempSync(path.join(os.tmpdir(), 'ew-buildah-')));
    standInBase(b, bookwormTar(path.join(os.tmpdir(), 'egresswatch-image-cache')), BASE);
    b.ok(['bud', '--isolation', 'chroot', '--pull-never', '--layers=false',
      '--build-arg', `NODE_IMAGE=${BASE}`, '--build-arg', `NODE_SLIM_IMAGE=${BASE}`,
      '-f', 'deploy/Dockerfile', '-t', IMAGE, '.'], 40 * 60_000, REPO_ROOT);
    container = b.ok(['from', '--pull-never', IMAGE]);
  });
  after(() => b?.destroy());

  const inImage = (cmd: string[]): { code: number | null; out: string } => {
    const r = b!.run(['run', '--isolation', 'chroot', '-v', `${pcap}:/in.pcap:ro`, container, '--', ...cmd], 120_000);
    return { code: r.code, out: r.stdout + r.stderr };
  };

  it('has the entry point, command, uid and port the DaemonSet relies on', () => {
    const cfg = (JSON.parse(b!.ok(['inspect', '--type', 'image', IMAGE])) as { OCIv1: ImageConfig }).OCIv1;
    assert.deepEqual(cfg.config.Entrypoint, ['node', CLI]);
    assert.deepEqual(cfg.config.Cmd, ['run', '--proc-root', '/host/proc', '--host-root', '/host']);
    assert.ok(['', '0', 'root', undefined].includes(cfg.config.User), `user ${String(cfg.config.User)}`);
    assert.equal(cfg.config.WorkingDir, '/opt/egresswatch');
    assert.ok(cfg.config.ExposedPorts && '9500/tcp' in cfg.config.ExposedPorts, 'port 9500');
  });

  it('replays a capture inside the image (pcap addon against the runtime libpcap)', () => {
    const r = inImage(['node', CLI, 'replay', '--state-dir', '/tmp/state', '--alerts-file', '/tmp/alerts.json', '--stats-json', '/in.pcap']);
    assert.equal(r.code, 0, r.out);
    const stats = JSON.parse(r.out.trim().split('\n').filter((l) => l.startsWith('{')).pop() ?? '{}') as { packets?: number };
    assert.ok((stats.packets ?? 0) > 0, r.out);
  });

  it('ships the netlink addon, and neither the compiler nor devDependencies', () => {
    const addon = inImage(['node', '-e', "require('/opt/egresswatch/native/build/Release/egresswatch_netlink.node')"]);
    assert.equal(addon.code, 0, addon.out);
    const tools = inImage(['sh', '-c', 'for t in g++ cc make python3; do command -v $t; done; ls /opt/egresswatch/node_modules/typescript 2>/dev/null; true']);
    assert.equal(tools.out.trim(), '', `build tools or devDependencies in the runtime image:\n${tools.out}`);
  });
});
