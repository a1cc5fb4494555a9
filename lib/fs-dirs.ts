// mkdir -p, one level at a time: Node 20's recursive mkdirSync never returns for a missing path
// under /proc (seen with --alerts-file /proc/nope/a.json), so every place that creates the
// agent's directories walks the path itself through this one function.
import fs from 'node:fs';
import path from 'node:path';

/** Creates `dir` and its missing parents (mode 0750 by default); returns the ones it created. */
export function makeDirs(dir: string, mode = 0o750): string[] {
  const missing: string[] = [];
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) {
    missing.unshift(d);
    if (d === path.dirname(d)) break;
  }
  for (const d of missing) fs.mkdirSync(d, { mode });
  return missing;
}
