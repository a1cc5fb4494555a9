// Which container a process runs in, from /proc/PID/cgroup. Pure: the caller reads the file.
// Runtimes name the cgroup after the container id (64 hex digits); only the layout differs:
//   docker, cgroupfs driver       /docker/<id>
//   docker, systemd driver        /system.slice/docker-<id>.scope
//   containerd (CRI), systemd     /kubepods.slice/.../kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope
//   containerd (CRI), v1 systemd  /system.slice/containerd.service/kubepods-...-pod<uid>.slice:cri-containerd:<id>
//   kubelet cgroupfs driver       /kubepods/burstable/pod<uid>/<id>   (k3s, kubeadm with cgroupfs)
//   CRI-O                         .../crio-<id>.scope                 (crio-conmon-<id>.scope is the monitor, not the container)
//   podman                        /machine.slice/libpod-<id>.scope[/container]  (libpod-conmon-<id>.scope is not)

export type ContainerRuntime = 'docker' | 'containerd' | 'cri-o' | 'podman';

export interface CgroupContainer {
  id: string;
  runtime: ContainerRuntime;
  /** Kubernetes pod uid when the path holds one (systemd slices write '_' for '-'; given back with '-'). */
  podUid?: string;
}

const ID = '([0-9a-f]{64})';

/** Whole-segment patterns, tried on each path segment from the innermost out. */
const SEGMENT: { re: RegExp; runtime: ContainerRuntime }[] = [
  { re: new RegExp(`^docker-${ID}\\.scope$`), runtime: 'docker' },
  { re: new RegExp(`^cri-containerd-${ID}\\.scope$`), runtime: 'containerd' },
  // CRI-O with the cgroupfs driver drops ".scope": /kubepods/burstable/pod<uid>/crio-<id>.
  { re: new RegExp(`^crio-${ID}(?:\\.scope)?$`), runtime: 'cri-o' },
  { re: new RegExp(`^libpod-${ID}(?:\\.scope)?$`), runtime: 'podman' },
  // cgroup v1 with the systemd driver: "<slice>:<runtime prefix>:<id>" in one segment.
  { re: new RegExp(`:cri-containerd:${ID}$`), runtime: 'containerd' },
  { re: new RegExp(`:crio:${ID}$`), runtime: 'cri-o' },
  { re: new RegExp(`:docker:${ID}$`), runtime: 'docker' },
];

const BARE = new RegExp(`^${ID}$`);

// A pod uid is a UUID; a static (mirror) pod's is a 32-hex config hash.
const POD = /(?:^|[-/])pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{32})(?:\.slice)?(?:[/:]|$)/;

/**
 * The container of the first line of /proc/PID/cgroup that names one (v1 lists one line per
 * hierarchy, all alike for a container; v2 has the single "0::" line). The innermost match wins,
 * so docker-in-docker gives the inner container. undefined for host processes and for monitors
 * (conmon) that live beside a container.
 */
export function containerFromCgroup(text: string): CgroupContainer | undefined {
  for (const line of text.split('\n')) {
    // "hierarchy-ID:controllers:path"; the path itself may hold ':' (v1 systemd driver).
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    if (second < 0) continue;
    const found = fromPath(line.slice(second + 1).trim());
    if (found) return found;
  }
  return undefined;
}

function fromPath(cgPath: string): CgroupContainer | undefined {
  const segments = cgPath.split('/');
  for (let i = segments.length - 1; i >= 0; i--) {
    const seg = segments[i];
    let hit: { id: string; runtime: ContainerRuntime } | undefined;
    for (const { re, runtime } of SEGMENT) {
      const m = re.exec(seg);
      if (m) { hit = { id: m[1], runtime }; break; }
    }
    if (!hit && BARE.test(seg)) hit = { id: seg, runtime: bareRuntime(segments.slice(0, i)) };
    if (hit) {
      const pod = POD.exec(segments.slice(0, i + 1).join('/'));
      return pod ? { ...hit, podUid: podUid(pod[1]) } : hit;
    }
  }
  return undefined;
}

/**
 * A bare id directory: under kubepods it is the kubelet's cgroupfs layout, whose runtime today is
 * containerd (k3s, kubeadm) far more often than dockershim; elsewhere dockerd's cgroupfs driver
 * (/docker/<id>, or a --cgroup-parent such as CI runners use). The catalog checks every runtime's
 * metadata anyway, so this is only where it looks first.
 */
function bareRuntime(parents: string[]): ContainerRuntime {
  if (parents.some((s) => s === 'kubepods' || s.startsWith('kubepods'))) return 'containerd';
  if (parents.some((s) => s === 'libpod_parent')) return 'podman';
  return 'docker';
}

function podUid(raw: string): string {
  return raw.replace(/_/g, '-');
}

/** Unit types a process can run in: a service, or a scope (a login session, a container, an app). */
const UNIT = /^.+\.(service|scope)$/;

/**
 * The systemd unit a process runs in, from /proc/PID/cgroup: the innermost ".service" or
 * ".scope" segment of its cgroup path ("nginx.service", "cron.service", "session-4.scope" for a
 * login session, "user@1000.service" for a user's own services, "docker-<id>.scope"). The
 * unified (v2, "0::") line is read first, then v1's name=systemd line. undefined outside any
 * unit (no systemd, or the root cgroup).
 */
export function systemdUnitFromCgroup(text: string): string | undefined {
  let v1: string | undefined;
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    if (second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const cgPath = line.slice(second + 1).trim();
    if (line.slice(0, first) === '0' && controllers === '') {
      const unit = innermostUnit(cgPath);
      if (unit !== undefined) return unit;
    } else if (controllers === 'name=systemd') {
      v1 = innermostUnit(cgPath);
    }
  }
  return v1;
}

function innermostUnit(cgPath: string): string | undefined {
  const segments = cgPath.split('/');
  for (let i = segments.length - 1; i >= 0; i--) if (UNIT.test(segments[i])) return segments[i];
  return undefined;
}
