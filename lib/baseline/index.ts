// baseline: the LevelDB store of first / last contact per (host, domain group) and
// (software, domain group), the detection window, the learning period and pruning.
export { Baseline, DEFAULT_CACHE_ENTRIES, DEFAULT_FLUSH_INTERVAL_MS } from './baseline.js';
export type { BaselineOptions, Observation, Verdict, BaselineEntry } from './baseline.js';
export { BaselineOpenError, BaselineWriteError, openErrorFor } from './errors.js';
export type { BaselineOpenReason } from './errors.js';
export { entryKey, decodeKey, escapePart, unescapePart } from './keys.js';
export type { EntryKind } from './keys.js';
export { BaselineAdmin, adminOpenError } from './admin.js';
export type { ListFilter, ForgetSelector, BaselineStats } from './admin.js';
export { BaselineImportError, formatEntry, parseEntry, type ImportResult } from './admin-io.js';
export { runBaselineCommand, BaselineUsageError, type BaselineSubcommand, type BaselineCommandArgs } from './admin-cli.js';
