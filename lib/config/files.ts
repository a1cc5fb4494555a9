// Inputs named on the command line (replay capture files) are checked before anything
// starts, so a typo is one clear line instead of an error from deep inside libpcap.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from './error.js';
import { errnoText } from './load.js';

/** Resolves each file against `cwd` and checks it is a readable regular file. */
export function checkInputFiles(files: readonly string[], what: string, cwd = process.cwd()): string[] {
  if (files.length === 0) throw new ConfigError(`no ${what} given`, what, `name at least one ${what}`);
  return files.map((f) => {
    const abs = path.resolve(cwd, f);
    const fix = `check the path of the ${what}`;
    try {
      fs.accessSync(abs, fs.constants.R_OK);
      if (!fs.statSync(abs).isFile()) throw new ConfigError(`cannot read ${what} ${abs}: not a regular file (fix: ${fix})`, what, fix);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`cannot read ${what} ${abs}: ${errnoText(err as NodeJS.ErrnoException)} (fix: ${fix})`, what, fix);
    }
    return abs;
  });
}
