// Image references as runtimes record them: "nginx:1.25", "docker.io/library/nginx:1.25",
// "registry:5000/team/app:v2", "app@sha256:…", "app:1.2@sha256:…", or a bare image id.

export interface ImageRef {
  /** Repository without tag or digest, as written ("nginx", "docker.io/library/nginx"). */
  name?: string;
  tag?: string;
  /** "sha256:<hex>": the manifest digest, or the image id when the container was started by id. */
  digest?: string;
}

const IMAGE_ID = /^(?:sha256:)?([0-9a-f]{64})$/;

export function parseImageRef(ref: string | undefined): ImageRef | undefined {
  const text = ref?.trim();
  if (!text) return undefined;
  const byId = IMAGE_ID.exec(text);
  if (byId) return { digest: `sha256:${byId[1]}` };
  const out: ImageRef = {};
  let rest = text;
  const at = rest.indexOf('@');
  if (at >= 0) {
    out.digest = rest.slice(at + 1) || undefined;
    rest = rest.slice(0, at);
  }
  // A tag is a ':' after the last '/': in "registry:5000/team/app" the colon is the port's.
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    out.tag = rest.slice(colon + 1) || undefined;
    rest = rest.slice(0, colon);
  }
  if (rest) out.name = rest;
  return out.name || out.digest ? out : undefined;
}

/**
 * The fully qualified repository, so Docker's "nginx" and containerd's
 * "docker.io/library/nginx" are one image: a first component with no '.' or ':' and not
 * "localhost" is a Docker Hub path (the rule of the reference grammar Docker and containerd share).
 */
export function qualifyImageName(name: string): string {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const hasRegistry = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry) return slash < 0 ? `docker.io/library/${name}` : `docker.io/${name}`;
  if (first !== 'docker.io' && first !== 'index.docker.io') return name;
  const path = name.slice(slash + 1);
  return path.includes('/') ? `docker.io/${path}` : `docker.io/library/${path}`;
}
