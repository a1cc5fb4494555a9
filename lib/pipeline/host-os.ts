// ECS host.os.* and host.architecture for the live agent's alerts: what fleet triage filters on
// ("the new destinations of our Ubuntu 22.04 hosts"). From os-release(5) under --host-root (the
// host's, not a containerised agent's own image) and the running kernel. A replay's capture
// comes from another host, so its alerts carry none.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface HostOs {
  os: { type: 'linux'; name?: string; version?: string; platform?: string; family?: string; full?: string; kernel: string };
  architecture: string;
}

/** KEY=value lines, values optionally quoted (os-release(5)); other lines are skipped. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2];
    if ((v.startsWith('"') && v.endsWith('"') && v.length >= 2) || (v.startsWith("'") && v.endsWith("'") && v.length >= 2)) v = v.slice(1, -1);
    out[m[1]] = v.replace(/\\(["$`\\\\])/g, '$1');
  }
  return out;
}

const ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', ia32: 'i686', arm: 'armv7l', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** The host's OS as os-release under `hostRoot` names it, and this kernel; never throws. */
export function readHostOs(hostRoot: string): HostOs {
  let fields: Record<string, string> = {};
  for (const rel of ['etc/os-release', 'usr/lib/os-release']) {
    try {
      fields = parseOsRelease(fs.readFileSync(path.join(hostRoot, rel), 'utf8').slice(0, 65536));
      break;
    } catch {
      // The other file, or none.
    }
  }
  const idLike = fields.ID_LIKE?.split(/\s+/)[0];
  return {
    os: {
      type: 'linux',
      ...(fields.NAME ? { name: fields.NAME } : {}),
      ...(fields.VERSION_ID ? { version: fields.VERSION_ID } : {}),
      ...(fields.ID ? { platform: fields.ID } : {}),
      ...(idLike ?? fields.ID ? { family: idLike ?? fields.ID } : {}),
      ...(fields.PRETTY_NAME ? { full: fields.PRETTY_NAME } : {}),
      kernel: os.release(),
    },
    architecture: ARCH[process.arch] ?? process.arch,
  };
}
