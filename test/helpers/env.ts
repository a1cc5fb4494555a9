// Shared test helpers: where the repository and the shared corpus live, and the rule
// that a missing prerequisite is a failure under CI=true and a skip elsewhere.
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Repository root (tests run compiled from dist/test/..., three levels below). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** `../shared/corpus` beside the checkout; override with EGRESSWATCH_CORPUS. */
export const CORPUS_DIR = process.env.EGRESSWATCH_CORPUS ?? path.resolve(REPO_ROOT, '..', 'shared', 'corpus');

export const FIXTURES_DIR = path.join(REPO_ROOT, 'test', 'fixtures');

export const IS_CI = process.env.CI === 'true';

/** Path of a corpus capture, e.g. corpusFile('zeek/dns53.pcap'). */
export function corpusFile(rel: string): string {
  return path.join(CORPUS_DIR, rel);
}

/**
 * Skip the current test (or suite, from a before hook) when a prerequisite is missing,
 * except under CI=true, where a missing prerequisite fails the run.
 */
export function requirePrereq(ctx: Mocha.Context, ok: boolean, what: string): void {
  if (ok) return;
  if (IS_CI) throw new Error(`missing test prerequisite under CI=true: ${what}`);
  ctx.skip();
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function haveCommand(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && fs.existsSync(path.join(dir, cmd))) return true;
  }
  for (const dir of ['/usr/sbin', '/sbin']) {
    if (fs.existsSync(path.join(dir, cmd))) return true;
  }
  return false;
}
