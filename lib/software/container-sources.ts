// What each runtime writes about a container, turned into ContainerInfo fields. Pure: the callers
// read and JSON.parse the files; anything of the wrong shape is simply absent.
import { parseImageRef, type ImageRef } from './container-image.js';
import type { ContainerRuntime } from './container-cgroup.js';

export interface PodInfo { name?: string; namespace?: string; uid?: string }

export interface ContainerInfo {
  id: string;
  runtime: ContainerRuntime;
  name?: string;
  image?: ImageRef;
  pod?: PodInfo;
  /** Kubernetes sandbox ("pause") container rather than a workload container. */
  sandbox?: boolean;
}

export type ContainerFacts = Omit<ContainerInfo, 'id' | 'runtime'>;

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function pod(name: unknown, namespace: unknown, uid: unknown): PodInfo | undefined {
  const p: PodInfo = { name: str(name), namespace: str(namespace), uid: str(uid) };
  return p.name || p.namespace || p.uid ? p : undefined;
}

/** containerd's OCI bundle config.json (run/containerd/io.containerd.runtime.v2.task/<ns>/<id>/). */
export function fromContainerdBundle(config: unknown): ContainerFacts {
  const a = obj(obj(config)?.annotations) ?? {};
  return {
    name: str(a['io.kubernetes.cri.container-name']),
    image: parseImageRef(str(a['io.kubernetes.cri.image-name'])),
    pod: pod(a['io.kubernetes.cri.sandbox-name'], a['io.kubernetes.cri.sandbox-namespace'], a['io.kubernetes.cri.sandbox-uid']),
    sandbox: a['io.kubernetes.cri.container-type'] === 'sandbox' ? true : undefined,
  };
}

/**
 * CRI-O's userdata/config.json. ContainerName is the kubelet's long "k8s_<name>_<pod>_<ns>_<uid>_<n>"
 * form; the Labels annotation (a JSON string) holds the plain container name.
 */
export function fromCrioConfig(config: unknown): ContainerFacts {
  const a = obj(obj(config)?.annotations) ?? {};
  let labels: Json = {};
  try {
    labels = obj(JSON.parse(str(a['io.kubernetes.cri-o.Labels']) ?? '{}')) ?? {};
  } catch {
    // A malformed Labels annotation leaves the other annotations usable.
  }
  return {
    name: str(labels['io.kubernetes.container.name']) ?? str(a['io.kubernetes.cri-o.ContainerName']),
    image: parseImageRef(str(a['io.kubernetes.cri-o.ImageName'])),
    pod: pod(a['io.kubernetes.pod.name'] ?? labels['io.kubernetes.pod.name'],
      a['io.kubernetes.pod.namespace'] ?? labels['io.kubernetes.pod.namespace'],
      a['io.kubernetes.pod.uid'] ?? labels['io.kubernetes.pod.uid']),
    sandbox: a['io.kubernetes.cri-o.ContainerType'] === 'sandbox' ? true : undefined,
  };
}

/** Docker's var/lib/docker/containers/<id>/config.v2.json; dockershim put the pod in labels. */
export function fromDockerConfig(config: unknown): ContainerFacts {
  const c = obj(config) ?? {};
  const cfg = obj(c.Config) ?? {};
  const labels = obj(cfg.Labels) ?? {};
  const name = str(c.Name)?.replace(/^\//, '');
  return {
    name: str(labels['io.kubernetes.container.name']) ?? name,
    image: parseImageRef(str(cfg.Image) ?? str(c.Image)),
    pod: pod(labels['io.kubernetes.pod.name'], labels['io.kubernetes.pod.namespace'], labels['io.kubernetes.pod.uid']),
    sandbox: labels['io.kubernetes.docker.type'] === 'podsandbox' ? true : undefined,
  };
}

/**
 * One entry of containers/storage's overlay-containers/containers.json (podman and CRI-O):
 * names[], and "metadata", a JSON string with image-name, name, and for CRI-O pod-name.
 */
export function fromStorageEntry(entry: unknown): ContainerFacts {
  const e = obj(entry) ?? {};
  let meta: Json = {};
  try {
    meta = obj(JSON.parse(str(e.metadata) ?? '{}')) ?? {};
  } catch {
    // Not JSON: names[] still identifies the container.
  }
  const names = Array.isArray(e.names) ? e.names : [];
  return {
    name: str(meta['metadata-name']) ?? str(meta.name) ?? str(names[0]),
    image: parseImageRef(str(meta['image-name'])),
  };
}

/** First defined value of each field wins: sources are merged in order of trust. */
export function mergeFacts(into: ContainerFacts, from: ContainerFacts): void {
  into.name ??= from.name;
  into.sandbox ??= from.sandbox;
  if (from.image) into.image = { ...from.image, ...stripUndefined(into.image) };
  if (from.pod) into.pod = { ...from.pod, ...stripUndefined(into.pod) };
}

function stripUndefined<T extends object>(o: T | undefined): Partial<T> {
  if (!o) return {};
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
