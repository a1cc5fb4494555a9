// Per-agent bearer tokens: a file of "name token" lines ('#' comments and blank lines
// ignored). Re-read when its mtime changes, so adding an agent needs no restart.
// Tokens are compared as SHA-256 digests with timingSafeEqual, so the comparison time does not
// tell an attacker how much of a guessed token was right.
import crypto from 'node:crypto';
import fs from 'node:fs';

export class TokenFileError extends Error {
  override name = 'TokenFileError';
}

function digest(s: string): Buffer {
  return crypto.createHash('sha256').update(s).digest();
}

export class Tokens {
  private entries: { name: string; hash: Buffer }[] = [];
  private mtimeMs = -1;

  constructor(readonly file: string) {
    this.reload(true);
  }

  /** The agent name for an Authorization header value, or undefined. */
  check(header: string | undefined): string | undefined {
    this.reload(false);
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!m) return undefined;
    const h = digest(m[1]);
    let found: string | undefined;
    for (const e of this.entries) if (crypto.timingSafeEqual(e.hash, h)) found = e.name;
    return found;
  }

  private reload(atStart: boolean): void {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.file);
      if (st.mtimeMs === this.mtimeMs) return;
      this.entries = parseTokens(fs.readFileSync(this.file, 'utf8'), this.file);
      this.mtimeMs = st.mtimeMs;
    } catch (err) {
      if (atStart) {
        if (err instanceof TokenFileError) throw err;
        throw new TokenFileError(`cannot read tokens file ${this.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)} `
          + '(fix: --tokens-file must name a readable file of "name token" lines)');
      }
      // keep the tokens we had: a half-written file during an edit must not lock every agent out
    }
  }
}

export function parseTokens(text: string, file: string): { name: string; hash: Buffer }[] {
  const out: { name: string; hash: Buffer }[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const parts = line.split(/\s+/);
    if (parts.length !== 2) throw new TokenFileError(`${file} line ${i + 1}: expected "name token" (fix: one agent per line, two fields)`);
    out.push({ name: parts[0], hash: digest(parts[1]) });
  });
  return out;
}
