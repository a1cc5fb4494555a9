// The baseline's software key: stable across upgrades, so a new release of the same program is
// not "new software" contacting every domain it always contacted.
//   containerised process  → the image repository, fully qualified, without tag or digest
//   path-like ids          → dotted versions in file and directory names replaced by '*', and
//                            so are commit hashes and per-run random directories
//   class / module / inline ids → unchanged (their dots are structure, not versions)
import { qualifyImageName } from './container-image.js';
import type { ContainerInfo } from './container-sources.js';
import type { SoftwareIdentity, SoftwareKind } from './identify.js';

export interface SoftwareKeyOptions {
  /** Replace versions (default true). false: the exact id, and image:tag for containers. */
  normalize?: boolean;
}

const STRUCTURED: ReadonlySet<SoftwareKind> = new Set(['java-class', 'java-module', 'python-module', 'inline', 'unknown']);

export function softwareKey(id: SoftwareIdentity, container?: ContainerInfo, opts: SoftwareKeyOptions = {}): string {
  const normalize = opts.normalize ?? true;
  const image = container?.image;
  if (image?.name) {
    const name = qualifyImageName(image.name);
    if (normalize) return name;
    return image.tag ? `${name}:${image.tag}` : image.digest ? `${name}@${image.digest}` : name;
  }
  if (!normalize || STRUCTURED.has(id.kind)) return id.id;
  return normalizeVersions(id.id);
}

// A release qualifier after the numbers: -SNAPSHOT, .RELEASE, .Final, -rc1, -beta2, +9 (JDK build), -1 (package revision).
const QUALIFIER = String.raw`(?:[-+~.](?:snapshot|release|final|ga|alpha\d*|beta\d*|rc\d*|m\d+|b\d+|\d+(?![.\d]))(?![a-z]))*`;
const DOTTED = String.raw`\d+(?:\.\d+)+`;
/** At the start of a name or after a separator: the whole version goes ("billing-2.3.1.jar", "v20.11.0", "1.4.2", "libfoo.so.1.2.3"). */
const SEPARATED = new RegExp(String.raw`(^|[-_@/.])v?${DOTTED}${QUALIFIER}(?=$|[-_./+~])`, 'gi');
/**
 * Glued to letters ("python3.11", "perl5.36", "php8.2"): the major stays, it names a different
 * language line (python2 and python3 are different software); the rest goes: "python3.*".
 */
const GLUED = new RegExp(String.raw`([a-z])(\d+)\.\d+(?:\.\d+)*${QUALIFIER}(?=$|[-_./+~])`, 'gi');
/** Snap revisions are bare integers: /snap/<name>/<revision>/... */
const SNAP = /^\/snap\/([^/]+)\/\d+\//;
/** Nix store paths start with a content hash that changes with every version. */
const NIX = /^\/nix\/store\/[0-9a-z]{32}-/;
/**
 * A commit or content hash (32+ hex digits) as a name or a part of one: VS Code's server
 * (~/.vscode-server/bin/<commit>/node, .../servers/Stable-<commit>/server/node) and its kin
 * change it with every update; Bazel's output base is an MD5. A UUID (a kubelet pod's
 * directory) likewise. Shorter hex runs are left: they are as often names.
 */
const HASH = /(^|[-_./@])(?:[0-9a-f]{32,}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?=$|[-_./+~])/gi;
/** A new random directory for every run: an AppImage's mount point, `go run`'s build directory. */
const PER_RUN = /\/(\.mount_|go-build)[^/]*\//g;

/**
 * Replaces dotted versions in each path segment by '*'. Single numbers are left alone
 * ("java-17-openjdk-amd64", "aws-cli/v2", "lib64"): without a dot they are as often part of a
 * name as a version, and over-merging two programs is worse than keeping two keys for one.
 */
export function normalizeVersions(id: string): string {
  let out = id.replace(SNAP, '/snap/$1/*/').replace(NIX, '/nix/store/*-');
  out = out.replace(PER_RUN, '/$1*/').replace(HASH, '$1*');
  out = out.replace(SEPARATED, '$1*');
  out = out.replace(GLUED, '$1$2.*');
  return out;
}
