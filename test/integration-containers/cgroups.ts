// Container cgroups named the way kubelet + containerd name them, so /proc/PID/cgroup of a test
// client reads like a real container's. Two drivers, as kubelet has them:
//   cgroupfs: /kubepods/besteffort/pod<uid>/<64-hex id>
//   systemd:  /kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid_>.slice/cri-containerd-<id>.scope
// The same relative path is made in every hierarchy we may touch (see hierarchies()).
import fs from 'node:fs';
import path from 'node:path';
import type { Ledger } from './ledger.js';

export type CgroupDriver = 'cgroupfs' | 'systemd';

export interface Hierarchy {
  /** Mount point, e.g. /sys/fs/cgroup/pids or /sys/fs/cgroup/unified. */
  mount: string;
  /** "pids", "name=systemd", … or "" for cgroup2, as /proc/self/cgroup names it. */
  controllers: string;
}

export function containerCgroupPath(driver: CgroupDriver, podUid: string, id: string): string {
  if (driver === 'cgroupfs') return `/kubepods/besteffort/pod${podUid}/${id}`;
  const u = podUid.replace(/-/g, '_');
  return `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${u}.slice/cri-containerd-${id}.scope`;
}

/**
 * Hierarchies in which this process sits at the root ("/"), except cpuset (a v1 cpuset child
 * takes no task until cpuset.cpus and .mems are filled in). A hierarchy where we sit deeper
 * (here memory:/process_api/…) belongs to whatever runs this test: moving a client out of it
 * would escape its limits, so it is left alone.
 */
export function hierarchies(): Hierarchy[] {
  const mine = new Map<string, string>();
  for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) mine.set(m[1]!, m[2]!);
  }
  const out: Hierarchy[] = [];
  for (const line of fs.readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, mount, type, opts] = line.split(' ');
    if (!mount || (type !== 'cgroup' && type !== 'cgroup2')) continue;
    let controllers = '';
    if (type === 'cgroup') {
      const known = new Set(['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'net_prio', 'blkio', 'pids', 'perf_event', 'hugetlb', 'rdma', 'misc']);
      const parts = (opts ?? '').split(',').filter((o) => known.has(o) || o.startsWith('name='));
      // /proc/self/cgroup lists a hierarchy's controllers in the kernel's order; match as a set.
      const key = [...mine.keys()].find((k) => k.split(',').sort().join(',') === [...parts].sort().join(','));
      if (key === undefined || parts.includes('cpuset')) continue;
      controllers = key;
    }
    if (mine.get(controllers) === '/') out.push({ mount: unescapeMount(mount), controllers });
  }
  return out;
}

/** /proc/mounts writes spaces and the like as octal escapes. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * Makes `rel` under each hierarchy one level at a time, recording in the ledger each directory
 * that did not exist (only those are ever removed). Returns the leaf directories.
 */
export function createCgroups(ledger: Ledger, hs: readonly Hierarchy[], rel: string): string[] {
  const leaves: string[] = [];
  for (const h of hs) {
    let dir = h.mount;
    for (const part of rel.split('/').filter(Boolean)) {
      dir = path.join(dir, part);
      if (fs.existsSync(dir)) continue;
      ledger.add('cgroups', dir);
      fs.mkdirSync(dir);
    }
    leaves.push(dir);
  }
  return leaves;
}
