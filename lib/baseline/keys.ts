// The LevelDB key scheme. Keys sort by kind, then subject, then group, so every entry of
// one host or one piece of software is a single range scan:
//   h!<host>!<group>        (host, domain group)
//   s!<software>!<group>    (software, domain group)
//   m!<name>                metadata (learning start, schema version)
// '!' and '%' inside names are percent-escaped ('%21', '%25'), so an escaped name never
// contains the separator and "a!b" + "c" cannot collide with "a" + "b!c". Escaping keeps
// every other byte, so keys stay readable in a LevelDB dump.

export type EntryKind = 'host' | 'software';

export const META_LEARNING_START = 'm!learningStart';
export const META_SCHEMA = 'm!schema';
export const SCHEMA_VERSION = 1;

const PREFIX: Record<EntryKind, string> = { host: 'h!', software: 's!' };

export function escapePart(s: string): string {
  // Almost no name holds either character: skip the replace (one per baseline lookup, twice per connection).
  if (!s.includes('!') && !s.includes('%')) return s;
  return s.replace(/[%!]/g, (c) => (c === '%' ? '%25' : '%21'));
}

export function unescapePart(s: string): string {
  return s.replace(/%2[15]/g, (c) => (c === '%25' ? '%' : '!'));
}

export function entryKey(kind: EntryKind, subject: string, group: string): string {
  return `${PREFIX[kind]}${escapePart(subject)}!${escapePart(group)}`;
}

/** LevelDB range bounds; '"' is the byte after '!', so `lt` closes the "prefix!" range. */
export interface KeyRange {
  gte: string;
  lt: string;
}

export function kindRange(kind: EntryKind): KeyRange {
  return { gte: PREFIX[kind], lt: `${PREFIX[kind].slice(0, -1)}"` };
}

export function subjectRange(kind: EntryKind, subject: string): KeyRange {
  const p = `${PREFIX[kind]}${escapePart(subject)}`;
  return { gte: `${p}!`, lt: `${p}"` };
}

export interface DecodedKey {
  kind: EntryKind;
  subject: string;
  group: string;
}

export function decodeKey(key: string): DecodedKey | undefined {
  const kind: EntryKind | undefined = key.startsWith('h!') ? 'host' : key.startsWith('s!') ? 'software' : undefined;
  if (kind === undefined) return undefined;
  const sep = key.indexOf('!', 2);
  if (sep < 0) return undefined;
  return { kind, subject: unescapePart(key.slice(2, sep)), group: unescapePart(key.slice(sep + 1)) };
}
