// The files the agent reads about containers, written under a temp dir instead of the real host:
// the host root given as --host-root (its /etc/passwd and containerd's task bundles with the CRI
// annotations), and each container's own small root (its /etc/passwd and /opt/app, bind-mounted
// over the host's inside the container's mount namespace only).
import fs from 'node:fs';
import path from 'node:path';
import { containerCgroupPath, type CgroupDriver } from './cgroups.js';

/** containerd's v2 task directory for the Kubernetes namespace, relative to the host root. */
export const CONTAINERD_TASKS = 'run/containerd/io.containerd.runtime.v2.task/k8s.io';

export interface ContainerDef {
  /** 64 hex digits, as containerd names a container. */
  id: string;
  /** The pod sandbox's (pause container's) id. */
  sandboxId: string;
  name: string;
  /** Full reference with tag, e.g. registry.example.com/team/billing:1.25. */
  image: string;
  podName: string;
  podNamespace: string;
  podUid: string;
  driver: CgroupDriver;
  /** The user the main process runs as: a name that exists only in the container's passwd. */
  user: { name: string; uid: number };
  /** Index of the pod network the container joins. */
  pod: number;
}

/** The in-container path of the main script every test container runs. */
export const APP_SCRIPT = '/opt/app/worker.py';

export function imageRepository(image: string): string {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? image.slice(0, colon) : image;
}

export function imageTag(image: string): string | undefined {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? image.slice(colon + 1) : undefined;
}

/**
 * The host's passwd as the agent will see it under --host-root. It names the container users'
 * uids differently on purpose: a user.name read from here instead of the container is wrong.
 */
export function writeHostRoot(hostRoot: string, hostPasswdLines: readonly string[], defs: readonly ContainerDef[]): void {
  fs.mkdirSync(path.join(hostRoot, 'etc'), { recursive: true });
  const decoys = defs.map((d) => `host-uid-${d.user.uid}:x:${d.user.uid}:${d.user.uid}::/nonexistent:/usr/sbin/nologin`);
  fs.writeFileSync(path.join(hostRoot, 'etc', 'passwd'), [...hostPasswdLines, ...new Set(decoys)].join('\n') + '\n', { mode: 0o644 });
  for (const d of defs) writeBundle(hostRoot, d);
}

/** config.json of the container's task bundle, shaped like the OCI spec containerd writes. */
function writeBundle(hostRoot: string, d: ContainerDef): void {
  const dir = path.join(hostRoot, CONTAINERD_TASKS, d.id);
  fs.mkdirSync(path.join(dir, 'rootfs'), { recursive: true });
  const spec = {
    ociVersion: '1.1.0',
    process: { user: { uid: d.user.uid, gid: d.user.uid }, args: ['python3', APP_SCRIPT], cwd: '/', env: ['PATH=/usr/local/bin:/usr/bin:/bin'] },
    root: { path: 'rootfs' },
    hostname: d.podName,
    annotations: {
      'io.kubernetes.cri.container-type': 'container',
      'io.kubernetes.cri.container-name': d.name,
      'io.kubernetes.cri.image-name': d.image,
      'io.kubernetes.cri.sandbox-id': d.sandboxId,
      'io.kubernetes.cri.sandbox-name': d.podName,
      'io.kubernetes.cri.sandbox-namespace': d.podNamespace,
      'io.kubernetes.cri.sandbox-uid': d.podUid,
    },
    linux: {
      cgroupsPath: d.driver === 'systemd'
        ? `kubepods-besteffort-pod${d.podUid.replace(/-/g, '_')}.slice:cri-containerd:${d.id}`
        : containerCgroupPath('cgroupfs', d.podUid, d.id),
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' },
        { type: 'network', path: `/var/run/netns/cni-${d.sandboxId.slice(0, 8)}` }],
    },
  };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec, null, 2) + '\n', { mode: 0o644 });
}

/**
 * The container's own files: rootDir/etc/passwd (root + the container user) and
 * rootDir/opt/app/worker.py (the client script). World-readable: the client runs as the
 * container user.
 */
export function writeContainerRoot(rootDir: string, d: ContainerDef, clientScript: string): void {
  fs.mkdirSync(path.join(rootDir, 'etc'), { recursive: true, mode: 0o755 });
  fs.mkdirSync(path.join(rootDir, 'opt', 'app'), { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(rootDir, 'etc', 'passwd'),
    `root:x:0:0:root:/root:/bin/sh\n${d.user.name}:x:${d.user.uid}:${d.user.uid}:${d.name}:/opt/app:/sbin/nologin\n`, { mode: 0o644 });
  fs.copyFileSync(clientScript, path.join(rootDir, 'opt', 'app', 'worker.py'));
  fs.chmodSync(path.join(rootDir, 'opt', 'app', 'worker.py'), 0o644);
}
