// loadConfig(): defaults ← YAML file ← EGRESSWATCH_* environment ← flags, validated once,
// then deep-frozen. Every value given anywhere is validated, even one a later source
// overrides, so a typo in the file is found the day it is made.
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { DEFAULTS, DEFAULT_MACHINE_ID_FILE } from './defaults.js';
import { ConfigError } from './error.js';
import { SETTINGS, findSetting, type SettingSpec } from './settings.js';
import type { AgentConfig, ConfigSources } from './types.js';
import { coerce, type Origin } from './values.js';
import { editDistance } from '../classify/patterns.js';

export const CONFIG_ENV = 'EGRESSWATCH_CONFIG';

export function loadConfig(src: ConfigSources): Readonly<AgentConfig> {
  const cwd = src.cwd ?? process.cwd();
  const out: Record<string, unknown> = { ...DEFAULTS };
  const file = src.file ?? nonEmpty(src.env[CONFIG_ENV]);
  if (file !== undefined) {
    const filePath = path.resolve(cwd, file);
    const values = readConfigFile(filePath);
    for (const [key, raw] of Object.entries(values)) {
      const spec = fileSetting(key, filePath);
      if (raw !== null) out[spec.field] = coerce(spec, raw, { label: `${key} in ${filePath}`, baseDir: path.dirname(filePath) });
    }
  }
  for (const spec of SETTINGS) {
    const raw = spec.env === undefined ? undefined : nonEmpty(src.env[spec.env]);
    if (raw !== undefined) out[spec.field] = coerce(spec, raw, { label: spec.env as string, baseDir: cwd });
  }
  for (const spec of SETTINGS) {
    if (spec.fileOnly) continue; // the CLI defines no such flag; a stray key must not slip in
    const raw = flagValue(src.flags, spec);
    const at: Origin = { label: `--${spec.flag}`, baseDir: cwd };
    if (raw !== undefined) out[spec.field] = coerce(spec, raw, at);
  }
  const config = out as unknown as AgentConfig;
  if (config.hostId === '') config.hostId = readMachineId(src.machineIdFile ?? DEFAULT_MACHINE_ID_FILE) ?? config.hostName;
  return deepFreeze(config);
}

/** Reads and parses the YAML file into a plain object of settings; ConfigError otherwise. */
export function readConfigFile(filePath: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(filePath, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const fix = `check the path given by --config or ${CONFIG_ENV}, and that the agent may read it`;
    throw new ConfigError(`cannot read config file ${filePath}: ${errnoText(e)} (fix: ${fix})`, 'config', fix);
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  const bad = doc.errors[0];
  if (bad) {
    const pos = bad.linePos?.[0];
    const where = pos ? `line ${pos.line}, column ${pos.col}` : `offset ${bad.pos[0]}`;
    const fix = 'correct the YAML syntax (keys in camelCase, one "key: value" per line)';
    throw new ConfigError(`cannot parse config file ${filePath}: ${where}: ${firstLine(bad.message)}`, 'config', fix);
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    const fix = 'write the settings as a mapping, e.g. "stateDir: /var/lib/egresswatch"';
    throw new ConfigError(`invalid config file ${filePath}: expected a mapping of settings at the top level`, 'config', fix);
  }
  return value as Record<string, unknown>;
}

function fileSetting(key: string, filePath: string): SettingSpec {
  const spec = SETTINGS.find((s) => s.key === key && s.inFile);
  if (spec) return spec;
  const loose = key.toLowerCase().replace(/[-_]/g, '');
  const near = findSetting(key)
    ?? SETTINGS.find((s) => s.key.toLowerCase() === loose || s.flag.replace(/-/g, '') === loose)
    ?? SETTINGS.find((s) => s.inFile && editDistance(s.key.toLowerCase(), loose) <= 2);
  const fix = near && near.inFile
    ? `did you mean '${near.key}'?`
    : near ? `--${near.flag} is a command-line flag only` : 'remove it; the keys are listed in docs/configuration.md';
  const named = SETTING_NAME.test(key);
  const shown = named ? `'${key}'` : `(not a setting name: ${key.length} characters)`;
  throw new ConfigError(`unknown key ${shown} in config file ${filePath} (${fix})`, named ? key : 'config', fix);
}

/**
 * What a config key can look like. Anything else (a file that is not a config, /etc/shadow say,
 * parses as keys holding its lines) is described in the error, not echoed: a wrong --config
 * must not copy a secret into the journal.
 */
const SETTING_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;


function flagValue(flags: Record<string, unknown>, spec: SettingSpec): unknown {
  const camel = spec.flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
  const v = flags[spec.flag] ?? flags[camel];
  return Array.isArray(v) && v.length === 0 ? undefined : v;
}

function readMachineId(file: string): string | undefined {
  try {
    return nonEmpty(fs.readFileSync(file, 'utf8').trim());
  } catch {
    return undefined; // no machine-id (minimal containers): the caller falls back to hostName
  }
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v;
}

/** "ENOENT (no such file or directory)" from Node's "ENOENT: no such file or directory, open 'x'". */
export function errnoText(e: NodeJS.ErrnoException): string {
  const m = /^[A-Z]+: ([^,]+)/.exec(e.message);
  return e.code ? `${e.code} (${m ? m[1] : firstLine(e.message)})` : firstLine(e.message);
}

function firstLine(s: string): string {
  return s.split('\n')[0].trim();
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
