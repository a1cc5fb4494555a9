// The doctor's result model: one line per check, with the fix when something is wrong.

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  status: CheckStatus;
  /** Short stable name, e.g. "capabilities", "capture lo", "state dir". */
  name: string;
  /** What was found, in the operator's terms. */
  detail: string;
  /** What to do about a warn or fail. */
  fix?: string;
}

export interface DoctorReport {
  checks: CheckResult[];
  /** No check failed: the agent can start with this configuration. */
  canRun: boolean;
  /**
   * A capture handle opened by the check is still held by libpcap (an idle interface frees it
   * only after its next packet, see LiveCapture.close), so the process must exit explicitly.
   */
  captureHandlesHeld: boolean;
}

export const ok = (name: string, detail: string): CheckResult => ({ status: 'ok', name, detail });
export const warn = (name: string, detail: string, fix: string): CheckResult => ({ status: 'warn', name, detail, fix });
export const fail = (name: string, detail: string, fix: string): CheckResult => ({ status: 'fail', name, detail, fix });

/** "ENOTDIR (not a directory)" from a Node errno error, or the message. */
export function errText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const m = typeof e?.message === 'string' ? /^[A-Z]+: ([^,]+)/.exec(e.message) : null;
  if (typeof e?.code === 'string' && m) return `${e.code} (${m[1]})`;
  return String(e?.message ?? err).split('\n')[0];
}
