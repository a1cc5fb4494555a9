// Container id → name, image and pod, from the metadata the runtimes keep on the host's disk
// (no engine API: the agent may run where no socket is mounted, and files are cheaper to read).
// Every path is under hostRoot, so a containerised agent reads the host's /run and /var/lib
// through its mount of the host (e.g. /host) and tests use a temp dir.
import { OrderedMap } from '../collections/index.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { CgroupContainer, ContainerRuntime } from './container-cgroup.js';
import {
  fromContainerdBundle, fromCrioConfig, fromDockerConfig, fromStorageEntry, mergeFacts,
  type ContainerFacts, type ContainerInfo,
} from './container-sources.js';

export interface ContainerCatalogOptions {
  /** The host's filesystem root; default "/". */
  hostRoot?: string;
  /** How long a found container's facts are reused; they do not change in its life. Default 10 min. */
  ttlMs?: number;
  /** How long "not found" is reused: metadata may be written just after the first process starts. Default 5 s. */
  missTtlMs?: number;
  /** Containers remembered; oldest evicted first. Default 1024. */
  maxEntries?: number;
  now?: () => number;
}

export class ContainerCatalogStats {
  lookups = 0;
  hits = 0;
  found = 0;
  notFound = 0;
  evictions = 0;
  /** Metadata files that exist but are too large or not JSON. */
  badFiles = 0;
}

/** Bundle directories of containerd's shims: upstream, k3s / RKE2, and the legacy v1 runtime. */
const CONTAINERD_TASK_DIRS = [
  'run/containerd/io.containerd.runtime.v2.task',
  'run/k3s/containerd/io.containerd.runtime.v2.task',
  'run/containerd/io.containerd.runtime.v1.linux',
];
const STORAGE_DIRS = ['var/lib/containers/storage/overlay-containers', 'run/containers/storage/overlay-containers'];
/** A container's config is tens of KiB; containers.json grows with the container count. */
const MAX_CONFIG_BYTES = 4 << 20;
const MAX_INDEX_BYTES = 64 << 20;

type Source = (id: string) => Promise<{ facts: ContainerFacts; runtime?: ContainerRuntime } | undefined>;

interface Entry { at: number; ttl: number; value: Promise<ContainerInfo | undefined> }

export class ContainerCatalog {
  readonly stats = new ContainerCatalogStats();
  private readonly root: string;
  private readonly ttlMs: number;
  private readonly missTtlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly cache = new OrderedMap<string, Entry>();
  private storageIndex?: { key: string; byId: Map<string, unknown> };

  constructor(opts: ContainerCatalogOptions = {}) {
    this.root = path.resolve(opts.hostRoot ?? '/');
    this.ttlMs = opts.ttlMs ?? 600_000;
    this.missTtlMs = opts.missTtlMs ?? 5_000;
    this.maxEntries = opts.maxEntries ?? 1024;
    this.now = opts.now ?? Date.now;
  }

  lookup(c: Pick<CgroupContainer, 'id' | 'runtime' | 'podUid'>): Promise<ContainerInfo | undefined> {
    this.stats.lookups++;
    const now = this.now();
    const cached = this.cache.get(c.id);
    if (cached && now - cached.at < cached.ttl) {
      this.stats.hits++;
      return cached.value;
    }
    this.cache.delete(c.id);
    const entry: Entry = { at: now, ttl: this.ttlMs, value: this.load(c) };
    this.cache.set(c.id, entry);
    this.stats.evictions += this.cache.trim(this.maxEntries);
    void entry.value.then((info) => {
      if (info) this.stats.found++;
      else { this.stats.notFound++; entry.ttl = this.missTtlMs; }
    });
    return entry.value;
  }

  private async load(c: Pick<CgroupContainer, 'id' | 'runtime' | 'podUid'>): Promise<ContainerInfo | undefined> {
    const facts: ContainerFacts = {};
    let runtime: ContainerRuntime | undefined;
    for (const source of this.sourcesFor(c.runtime)) {
      const got = await source(c.id);
      if (!got) continue;
      runtime ??= got.runtime;
      mergeFacts(facts, got.facts);
    }
    if (runtime === undefined) return undefined;
    const info: ContainerInfo = { id: c.id, runtime, ...dropUndefined(facts) };
    if (c.podUid) info.pod = { uid: c.podUid, ...dropUndefined(info.pod ?? {}) };
    return info;
  }

  /** Every runtime's files are tried (a cgroup path does not always say which runtime made it), the cgroup's own first. */
  private sourcesFor(runtime: ContainerRuntime): Source[] {
    const docker: Source = (id) => this.docker(id);
    const containerd: Source = (id) => this.containerd(id);
    const storage: Source = (id) => this.storage(id, runtime);
    if (runtime === 'docker') return [docker, containerd, storage];
    if (runtime === 'containerd') return [containerd, docker, storage];
    return [storage, containerd, docker];
  }

  private async docker(id: string): Promise<{ facts: ContainerFacts; runtime: ContainerRuntime } | undefined> {
    const json = await this.readJson(`var/lib/docker/containers/${id}/config.v2.json`, MAX_CONFIG_BYTES);
    return json === undefined ? undefined : { facts: fromDockerConfig(json), runtime: 'docker' };
  }

  private async containerd(id: string): Promise<{ facts: ContainerFacts; runtime: ContainerRuntime } | undefined> {
    for (const dir of CONTAINERD_TASK_DIRS) {
      for (const ns of await this.list(dir)) {
        const json = await this.readJson(`${dir}/${ns}/${id}/config.json`, MAX_CONFIG_BYTES);
        // Docker runs its containers through containerd in the "moby" namespace.
        if (json !== undefined) return { facts: fromContainerdBundle(json), runtime: ns === 'moby' ? 'docker' : 'containerd' };
      }
    }
    return undefined;
  }

  private async storage(id: string, cgroupRuntime: ContainerRuntime): Promise<{ facts: ContainerFacts; runtime: ContainerRuntime } | undefined> {
    const facts: ContainerFacts = {};
    let found = false;
    let crio = false;
    for (const dir of STORAGE_DIRS) {
      const json = await this.readJson(`${dir}/${id}/userdata/config.json`, MAX_CONFIG_BYTES);
      if (json === undefined) continue;
      found = true;
      crio = isCrio(json);
      mergeFacts(facts, fromCrioConfig(json));
      break;
    }
    const entry = (await this.storageEntries()).get(id);
    if (entry !== undefined) {
      found = true;
      mergeFacts(facts, fromStorageEntry(entry));
    }
    if (!found) return undefined;
    const runtime = cgroupRuntime === 'cri-o' || cgroupRuntime === 'podman' ? cgroupRuntime : crio ? 'cri-o' : 'podman';
    return { facts, runtime };
  }

  /** containers.json, parsed once per (mtime, size): it lists every container of the store. */
  private async storageEntries(): Promise<Map<string, unknown>> {
    const rel = `${STORAGE_DIRS[0]}/containers.json`;
    const file = path.join(this.root, rel);
    let key: string;
    try {
      const st = await fs.stat(file);
      key = `${st.mtimeMs}:${st.size}`;
    } catch {
      return new Map();
    }
    if (this.storageIndex?.key === key) return this.storageIndex.byId;
    const json = await this.readJson(rel, MAX_INDEX_BYTES);
    const byId = new Map<string, unknown>();
    for (const e of Array.isArray(json) ? json : []) {
      const id = (e as { id?: unknown } | null)?.id;
      if (typeof id === 'string') byId.set(id, e);
    }
    this.storageIndex = { key, byId };
    return byId;
  }

  private async list(rel: string): Promise<string[]> {
    try {
      return await fs.readdir(path.join(this.root, rel));
    } catch {
      return [];
    }
  }

  private async readJson(rel: string, maxBytes: number): Promise<unknown> {
    const file = path.join(this.root, rel);
    let text: string;
    try {
      const st = await fs.stat(file);
      if (!st.isFile()) return undefined;
      if (st.size > maxBytes) {
        this.stats.badFiles++;
        return undefined;
      }
      text = await fs.readFile(file, 'utf8');
    } catch {
      return undefined;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      this.stats.badFiles++;
      return undefined;
    }
  }
}

/**
 * CRI-O and podman share containers/storage. Both write "io.container.manager" ("cri-o" /
 * "libpod"); podman also sets some io.kubernetes.cri-o.* annotations, so those prove nothing,
 * while a pod name does.
 */
function isCrio(config: unknown): boolean {
  const a = (config as { annotations?: Record<string, unknown> } | null)?.annotations ?? {};
  if (a['io.container.manager'] === 'cri-o') return true;
  if (a['io.container.manager'] === 'libpod') return false;
  return typeof a['io.kubernetes.pod.name'] === 'string';
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
