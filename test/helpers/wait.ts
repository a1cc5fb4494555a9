// Waiting, bounded, for something asynchronous to have happened.

/** Resolves once `cond` holds, polling every `everyMs`; throws naming `what` after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 10_000, everyMs = 10): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
