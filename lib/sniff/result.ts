/**
 * Result of looking at the client's first bytes of a TCP stream. 'more' = a TLS record or
 * HTTP header block is incomplete: call again with more bytes appended; 'none' = not TLS/HTTP
 * or no name in it.
 */
export type SniffResult = { kind: 'sni' | 'http'; name: string } | { kind: 'more' } | { kind: 'none' };

/** Shared, frozen: the two name-less answers allocate nothing. */
export const MORE: SniffResult = Object.freeze({ kind: 'more' });
export const NONE: SniffResult = Object.freeze({ kind: 'none' });
