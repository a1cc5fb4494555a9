// Checks of the state and log directories and of LevelDB. The doctor creates missing
// directories (mode 0750), as the agent does at start, so "can be created" is proven by doing
// it; everything else it writes is a temporary probe that it removes again.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Level } from 'level';
import { openErrorFor } from '../baseline/index.js';
import { makeDirs } from '../fs-dirs.js';
import { openAppend } from '../outputs/rotation.js';
import { errText, fail, ok, warn, type CheckResult } from './types.js';

/** The directory exists or can be created, and a file can be created in it. */
export function checkWritableDir(name: string, dir: string, flag: string): CheckResult {
  const fix = `make ${dir} a directory writable by the agent user (e.g. install -d -m 0750 -o USER ${dir}), or point ${flag} elsewhere`;
  let created: string[];
  try {
    created = makeDirs(dir);
    if (!fs.statSync(dir).isDirectory()) return fail(name, `${dir} is not a directory`, fix);
    const probe = path.join(dir, `.egresswatch-doctor-${process.pid}`);
    fs.writeFileSync(probe, 'probe\n', { flag: 'wx' });
    fs.unlinkSync(probe);
  } catch (err) {
    return fail(name, `${dir} cannot be created or written: ${errText(err)}`, fix);
  }
  return ok(name, `${dir} is writable${created.length > 0 ? ' (created now)' : ''}`);
}

/** The alert file's directory is writable and the file, if it exists, can be appended to. */
export function checkAlertsFile(file: string): CheckResult {
  const dirCheck = checkWritableDir('alerts file', path.dirname(file), '--alerts-file');
  if (dirCheck.status !== 'ok') return dirCheck;
  if (!fs.existsSync(file)) return ok('alerts file', `${file} will be created (${dirCheck.detail})`);
  try {
    const st = fs.statSync(file);
    if (st.isFIFO() || st.isCharacterDevice()) return checkAlertsStream(file, st.isFIFO() ? 'a FIFO' : 'a character device');
    if (!st.isFile()) return fail('alerts file', `${file} is not a regular file, a FIFO or a device`, 'remove it, or point --alerts-file elsewhere');
    fs.closeSync(fs.openSync(file, 'a'));
  } catch (err) {
    return fail('alerts file', `${file} cannot be appended to: ${errText(err)}`,
      `make ${file} writable by the agent user, or point --alerts-file elsewhere`);
  }
  return ok('alerts file', `${file} exists and can be appended to`);
}

/** A FIFO or device as the alerts file: opened the way the agent opens it (without blocking, so a FIFO nobody reads says so). */
function checkAlertsStream(file: string, kind: string): CheckResult {
  try {
    fs.closeSync(openAppend(file, 0o640).fd);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') {
      return warn('alerts file', `${file} is ${kind} that no process reads yet: the agent keeps alerts in memory (up to 64 MiB) until one opens it`,
        'start the program that reads it');
    }
    return fail('alerts file', `${file} (${kind}) cannot be opened for writing: ${errText(err)}`, `make ${file} writable by the agent user, or point --alerts-file elsewhere`);
  }
  return ok('alerts file', `${file} is ${kind}, open for writing: alerts go to its reader (never rotated)`);
}

/**
 * LevelDB works in the state dir: a scratch database in a temporary sub-directory is opened,
 * written, read and removed. The real baseline is only opened to see whether it is readable;
 * when an agent holds its lock that is the expected state and is left alone.
 */
export async function checkLevelDb(stateDir: string): Promise<CheckResult[]> {
  const fix = 'check free space and the state dir permissions; reinstall dependencies (npm ci) if classic-level fails to load';
  let scratch: string | undefined;
  const out: CheckResult[] = [];
  try {
    scratch = await fsp.mkdtemp(path.join(stateDir, '.doctor-leveldb-'));
    const db = new Level<string, string>(scratch, { valueEncoding: 'utf8' });
    await db.open();
    await db.put('probe', 'ok');
    const back = await db.get('probe');
    await db.close();
    if (back !== 'ok') throw new Error(`read back ${JSON.stringify(back)} instead of "ok"`);
    out.push(ok('leveldb', `opened, wrote and read a scratch database under ${stateDir}`));
  } catch (err) {
    out.push(fail('leveldb', `cannot use LevelDB under ${stateDir}: ${errText(err)}`, fix));
  } finally {
    if (scratch !== undefined) await fsp.rm(scratch, { recursive: true, force: true }).catch(() => undefined);
  }
  out.push(await checkBaseline(path.join(stateDir, 'baseline')));
  return out;
}

async function checkBaseline(dir: string): Promise<CheckResult> {
  if (!fs.existsSync(path.join(dir, 'CURRENT'))) return ok('baseline', `${dir}: none yet, created at the first start`);
  const db = new Level<string, unknown>(dir, { valueEncoding: 'json', createIfMissing: false });
  try {
    await db.open();
  } catch (err) {
    // The agent's own reading of the error (lib/baseline/errors.ts), so both say the same.
    const reason = openErrorFor(dir, err).reason;
    if (reason === 'locked') return ok('baseline', `${dir}: in use by a running agent (locked), not opened`);
    if (reason === 'corrupt') {
      // The agent repairs it when it opens it (lib/level-open.ts); the doctor only looks.
      const why = (err as { cause?: { message?: string } }).cause?.message ?? errText(err);
      return warn('baseline', `${dir} is damaged: ${why}; the agent runs LevelDB's repair on it when it starts`,
        `start the agent and read its log; if it says the repair could not fix it, move ${dir} aside (the agent starts a new baseline and learning period)`);
    }
    return warn('baseline', `${dir} cannot be opened: ${errText(err)}`, 'check ownership and permissions of the directory');
  }
  await db.close();
  return ok('baseline', `${dir}: opens (no agent running on it)`);
}
