import assert from 'node:assert/strict';
import { containerFromCgroup, systemdUnitFromCgroup } from '../../lib/software/index.js';

// /proc/PID/cgroup lines as real hosts print them (ids and pod uids replaced by made-up values of
// the same shape). Sources: Docker 20-27 on cgroup v1 and v2, kubeadm / EKS / GKE (containerd),
// OpenShift (CRI-O), k3s, podman 4 rootful and rootless.
const A = '3f4e1a2b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f';
const B = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const POD = '7d9c1c4a-5e2b-4f3a-9c1d-2e8f0b6a4d31';
const POD_ = POD.replace(/-/g, '_');

interface Row { what: string; text: string; want?: { id: string; runtime: string; podUid?: string } }

const ROWS: Row[] = [
  { what: 'docker v1 cgroupfs, memory', text: `12:memory:/docker/${A}\n`, want: { id: A, runtime: 'docker' } },
  { what: 'docker v1 full file', text: `12:pids:/docker/${A}\n11:hugetlb:/docker/${A}\n10:net_cls,net_prio:/docker/${A}\n1:name=systemd:/docker/${A}\n0::/system.slice/containerd.service\n`, want: { id: A, runtime: 'docker' } },
  { what: 'docker v2 systemd driver', text: `0::/system.slice/docker-${A}.scope\n`, want: { id: A, runtime: 'docker' } },
  { what: 'docker v2 cgroupfs driver', text: `0::/docker/${A}\n`, want: { id: A, runtime: 'docker' } },
  { what: 'systemd inside docker', text: `0::/system.slice/docker-${A}.scope/init.scope\n`, want: { id: A, runtime: 'docker' } },
  { what: 'docker-in-docker: innermost', text: `0::/docker/${A}/docker/${B}\n`, want: { id: B, runtime: 'docker' } },
  { what: 'docker v1 systemd driver', text: `4:cpu,cpuacct:/system.slice/docker-${A}.scope\n`, want: { id: A, runtime: 'docker' } },
  { what: 'CI runner cgroup-parent', text: `0::/actions_job/${A}\n`, want: { id: A, runtime: 'docker' } },
  { what: 'k8s containerd v2 systemd besteffort', text: `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_}.slice/cri-containerd-${A}.scope\n`, want: { id: A, runtime: 'containerd', podUid: POD } },
  { what: 'k8s containerd v2 systemd burstable', text: `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_}.slice/cri-containerd-${B}.scope\n`, want: { id: B, runtime: 'containerd', podUid: POD } },
  { what: 'k8s containerd v2 guaranteed', text: `0::/kubepods.slice/kubepods-pod${POD_}.slice/cri-containerd-${A}.scope\n`, want: { id: A, runtime: 'containerd', podUid: POD } },
  { what: 'k8s containerd v1 systemd driver', text: `11:memory:/system.slice/containerd.service/kubepods-burstable-pod${POD_}.slice:cri-containerd:${A}\n`, want: { id: A, runtime: 'containerd', podUid: POD } },
  { what: 'k8s cgroupfs v1 burstable', text: `9:cpuset:/kubepods/burstable/pod${POD}/${A}\n`, want: { id: A, runtime: 'containerd', podUid: POD } },
  { what: 'k8s cgroupfs v1 guaranteed', text: `5:devices:/kubepods/pod${POD}/${B}\n`, want: { id: B, runtime: 'containerd', podUid: POD } },
  { what: 'k3s cgroupfs v2 besteffort', text: `0::/kubepods/besteffort/pod${POD}/${A}\n`, want: { id: A, runtime: 'containerd', podUid: POD } },
  { what: 'static pod hash uid', text: `0::/kubepods/burstable/pod0f4a9c1e2b3d4f5a6b7c8d9e0f1a2b3c/${A}\n`, want: { id: A, runtime: 'containerd', podUid: '0f4a9c1e2b3d4f5a6b7c8d9e0f1a2b3c' } },
  { what: 'CRI-O v2', text: `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_}.slice/crio-${A}.scope\n`, want: { id: A, runtime: 'cri-o', podUid: POD } },
  { what: 'CRI-O v1 memory', text: `8:memory:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_}.slice/crio-${B}.scope\n`, want: { id: B, runtime: 'cri-o', podUid: POD } },
  { what: 'CRI-O cgroupfs driver', text: `0::/kubepods/burstable/pod${POD}/crio-${A}\n`, want: { id: A, runtime: 'cri-o', podUid: POD } },
  { what: 'CRI-O cgroupfs conmon is not the container', text: `0::/kubepods/burstable/pod${POD}/crio-conmon-${A}\n` },
  { what: 'CRI-O conmon is not the container', text: `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_}.slice/crio-conmon-${A}.scope\n` },
  { what: 'podman rootful v2', text: `0::/machine.slice/libpod-${A}.scope/container\n`, want: { id: A, runtime: 'podman' } },
  { what: 'podman rootful no sub', text: `0::/machine.slice/libpod-${B}.scope\n`, want: { id: B, runtime: 'podman' } },
  { what: 'podman rootless', text: `0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${A}.scope/container\n`, want: { id: A, runtime: 'podman' } },
  { what: 'podman cgroupfs v1', text: `3:memory:/libpod_parent/libpod-${A}\n`, want: { id: A, runtime: 'podman' } },
  { what: 'podman conmon is not the container', text: `0::/machine.slice/libpod-conmon-${A}.scope\n` },
  { what: 'host process v2', text: '0::/system.slice/sshd.service\n' },
  { what: 'host user session', text: '0::/user.slice/user-1000.slice/session-3.scope\n' },
  { what: 'host v1 hybrid', text: '12:blkio:/user.slice\n1:name=systemd:/user.slice/user-0.slice/session-1.scope\n0::/user.slice/user-0.slice/session-1.scope\n' },
  { what: 'root cgroup', text: '0::/\n' },
  { what: 'short id is not a container', text: '0::/docker/3f4e1a2b9c8d\n' },
  { what: 'uppercase hex is not an id', text: `0::/docker/${A.toUpperCase()}\n` },
  { what: 'kubepods slice itself (pod-level process)', text: `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_}.slice\n` },
  { what: 'garbage', text: 'not a cgroup file\n\n::\n' },
];

describe('software/containerFromCgroup on real cgroup lines', () => {
  it(`has at least 20 rows (${ROWS.length})`, () => assert.ok(ROWS.length >= 20));
  for (const r of ROWS) {
    it(`${r.what} → ${r.want ? `${r.want.runtime} ${r.want.id.slice(0, 12)}` : 'none'}`, () => {
      assert.deepEqual(containerFromCgroup(r.text), r.want);
    });
  }
});

// [what, /proc/PID/cgroup text, systemd unit]
const UNITS: [string, string, string | undefined][] = [
  ['a service, v2', '0::/system.slice/nginx.service\n', 'nginx.service'],
  ['a login session (ssh), v2', '0::/user.slice/user-1000.slice/session-3.scope\n', 'session-3.scope'],
  ['a user\'s own service manager', '0::/user.slice/user-1000.slice/user@1000.service/init.scope\n', 'init.scope'],
  ['a desktop app scope', '0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-firefox-4711.scope\n', 'app-gnome-firefox-4711.scope'],
  ['a service with delegated sub-cgroups', '0::/system.slice/containerd.service/workers/w1\n', 'containerd.service'],
  ['a cron job (its own session)', '0::/user.slice/user-0.slice/session-c12.scope\n', 'session-c12.scope'],
  ['templated instance', '0::/system.slice/system-getty.slice/getty@tty1.service\n', 'getty@tty1.service'],
  ['escaped unit name', '0::/system.slice/system-openvpn\\x2dclient.slice/openvpn-client@corp.service\n', 'openvpn-client@corp.service'],
  ['a docker container (systemd driver)', `0::/system.slice/docker-${A}.scope\n`, `docker-${A}.scope`],
  ['podman container payload', `0::/machine.slice/libpod-${A}.scope/container\n`, `libpod-${A}.scope`],
  ['v1 hybrid: the unified line', '12:blkio:/system.slice\n1:name=systemd:/system.slice/cron.service\n0::/system.slice/cron.service\n', 'cron.service'],
  ['v1 only: name=systemd', '11:memory:/system.slice/rsyslog.service\n1:name=systemd:/system.slice/rsyslog.service\n', 'rsyslog.service'],
  ['hybrid with an empty unified line: name=systemd', '1:name=systemd:/system.slice/ssh.service\n0::/\n', 'ssh.service'],
  ['PID 1', '0::/init.scope\n', 'init.scope'],
  ['the root cgroup (no systemd)', '0::/\n', undefined],
  ['cgroupfs docker (no unit)', `0::/docker/${A}\n`, undefined],
  ['a slice only', '0::/user.slice\n', undefined],
  ['garbage', 'not a cgroup file\n\n::\n', undefined],
];

describe('software/systemdUnitFromCgroup on real cgroup lines', () => {
  for (const [what, text, want] of UNITS) {
    it(`${what} → ${want ?? 'none'}`, () => assert.equal(systemdUnitFromCgroup(text), want));
  }
});
