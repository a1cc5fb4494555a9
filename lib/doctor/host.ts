// Checks of the process and the host: capabilities, access to other users' /proc entries,
// and the clock.
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { agentCapabilities, parseCapEff } from './caps.js';
import { errText, fail, ok, warn, type CheckResult } from './types.js';

const CAP_FIX = 'run as root, or as the systemd unit in systemd/ does: ' +
  'AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN CAP_SYS_PTRACE CAP_DAC_READ_SEARCH';

export function checkCapabilities(statusText: string, euid: number): CheckResult {
  const mask = parseCapEff(statusText);
  if (mask === undefined) return warn('capabilities', 'no CapEff line in /proc/self/status', CAP_FIX);
  const { held, missing } = agentCapabilities(mask);
  const who = `uid ${euid}${euid === 0 ? ' (root)' : ''}, CapEff ${mask.toString(16).padStart(16, '0')}`;
  if (missing.length === 0) return ok('capabilities', `${who}: ${held.map((c) => c.name).join(' ')}`);
  const lost = missing.map((c) => `${c.name} (to ${c.why})`).join(', ');
  if (missing.some((c) => c.required)) return fail('capabilities', `${who}: missing ${lost}`, CAP_FIX);
  return warn('capabilities', `${who}: missing ${lost}`, CAP_FIX);
}

/** Candidates of another uid: pid 1 first (always has an executable), then a bounded scan. */
async function otherUserPids(procRoot: string, uid: number, limit: number): Promise<string[]> {
  const out: string[] = [];
  let names: string[];
  try {
    names = await fs.readdir(procRoot);
  } catch {
    return out;
  }
  const pids = names.filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(a) - Number(b));
  for (const pid of pids.slice(0, 5000)) {
    if (pid === String(process.pid)) continue;
    const st = await fs.stat(path.join(procRoot, pid)).catch(() => undefined);
    if (st !== undefined && st.uid !== uid) out.push(pid);
    if (out.length >= limit) break;
  }
  return out;
}

/**
 * Reads /proc/PID/exe and /proc/PID/fd of a process that is not ours, as attribution does.
 * Without that access the agent runs, but alerts for other users' connections carry no
 * process and the software baseline misses them: a warning, not a failure.
 */
export async function checkProcAccess(procRoot: string, uid: number): Promise<CheckResult> {
  const name = 'proc access';
  const fix = `grant CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (${CAP_FIX.split(': ')[1]}); ` +
    'check that --proc-root is the host /proc, not mounted with hidepid, and that no security module (Yama ptrace_scope, AppArmor, SELinux) denies ptrace read access';
  let candidates = await otherUserPids(procRoot, uid, 20);
  let note = 'of another user';
  if (candidates.length === 0) {
    candidates = String(process.pid) === '1' ? [] : ['1'];
    note = 'of our own uid (no process of another user found)';
  }
  if (candidates.length === 0) return warn(name, `no other process under ${procRoot} to try`, fix);
  let firstError: string | undefined;
  for (const pid of candidates) {
    const dir = path.join(procRoot, pid);
    try {
      const exe = await fs.readlink(path.join(dir, 'exe'));
      const fds = await fs.readdir(path.join(dir, 'fd'));
      return ok(name, `read ${dir}/exe (${exe}) and ${fds.length} entries of ${dir}/fd, a process ${note}`);
    } catch (err) {
      // ENOENT: the process exited or is a kernel thread (no executable); try the next one.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      firstError ??= `${dir}: ${errText(err)}`;
    }
  }
  return warn(name, firstError === undefined ? `no readable process ${note} under ${procRoot}`
    : `cannot read /proc entries of a process ${note}: ${firstError}; alerts will lack process details for it`, fix);
}

/** Year sanity (baseline times and the 90-day window need a real date) and clock steps. */
export async function checkClock(now: () => number, sampleMs = 200): Promise<CheckResult> {
  const name = 'clock';
  const fix = 'set the system clock and keep it synchronised (timedatectl set-ntp true, chrony or systemd-timesyncd)';
  const w0 = now();
  const m0 = performance.now();
  const year = new Date(w0).getUTCFullYear();
  if (year < 2024) {
    return fail(name, `system time is ${new Date(w0).toISOString()} (year ${year} < 2024); baseline times would be wrong`, fix);
  }
  await sleep(sampleMs);
  const drift = (now() - w0) - (performance.now() - m0);
  if (Math.abs(drift) > 1000) {
    return warn(name, `wall clock moved ${Math.round(drift)} ms against the monotonic clock in ${sampleMs} ms (being stepped?)`, fix);
  }
  return ok(name, `${new Date(w0).toISOString()}, ${Math.abs(Math.round(drift))} ms off the monotonic clock over ${sampleMs} ms`);
}
