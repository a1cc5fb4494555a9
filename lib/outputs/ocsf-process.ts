// OCSF process, user and file objects from the alert's ECS process.*, user.* and
// egresswatch.software.* (see ocsf.ts for the finding around them).
import { compact, ms, num, obj, str, type Obj } from './ocsf-values.js';

function baseName(p: string | undefined): string | undefined {
  if (p === undefined) return undefined;
  return p.replace(/ \(deleted\)$/, '').split('/').pop() || undefined;
}

/** OCSF file object for an executable path (type 1 = Regular File). */
function exeFile(path: string | undefined): Obj | undefined {
  return path === undefined ? undefined : { name: baseName(path), path, type_id: 1, type: 'Regular File' };
}

export function ocsfUser(alert: Obj): Obj | undefined {
  const u = obj(alert.user);
  if (str(u.id) === undefined && str(u.name) === undefined) return undefined;
  return compact({ name: str(u.name), uid: str(u.id) });
}

export function ocsfProcess(alert: Obj): Obj | undefined {
  const p = obj(alert.process);
  if (num(p.pid) === undefined) return undefined;
  const parent = obj(p.parent);
  const ancestors = obj(obj(alert.egresswatch).process).ancestors;
  // OCSF lineage: the executables of the ancestors, nearest first (as egresswatch lists them).
  const lineage = Array.isArray(ancestors)
    ? ancestors.map((a) => str(obj(a).executable) ?? str(obj(a).name)).filter((x): x is string => x !== undefined)
    : undefined;
  return compact({
    pid: num(p.pid),
    name: str(p.name),
    cmd_line: str(p.command_line),
    created_time: ms(p.start),
    file: exeFile(str(p.executable)),
    user: ocsfUser(alert),
    parent_process: num(parent.pid) !== undefined ? compact({
      pid: num(parent.pid),
      name: str(parent.name),
      cmd_line: str(parent.command_line),
      file: exeFile(str(parent.executable)),
    }) : undefined,
    lineage: lineage && lineage.length > 0 ? lineage : undefined,
  });
}

/** The software's main file (script, JAR or executable) with its SHA-256, for evidences.file. */
export function softwareFile(alert: Obj): Obj | undefined {
  const f = obj(obj(obj(alert.egresswatch).software).file);
  const path = str(f.path);
  if (path === undefined) return undefined;
  const sha = str(obj(f.hash).sha256);
  return compact({
    name: baseName(path),
    path,
    type_id: 1,
    type: 'Regular File',
    size: num(f.size),
    modified_time: ms(f.mtime),
    // Fingerprint algorithm_id 3 = SHA-256.
    hashes: sha !== undefined ? [{ algorithm_id: 3, algorithm: 'SHA-256', value: sha }] : undefined,
  });
}
