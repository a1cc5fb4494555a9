// The CLI's flag definitions, generated from the settings table so that --help, the loader
// and the docs cannot disagree. No yargs defaults are set: a flag the operator did not give
// must stay undefined, or it would override the environment and the config file.
import type { Options } from 'yargs';
import { DEFAULTS } from './defaults.js';
import { CONFIG_ENV } from './load.js';
import { SETTINGS, type Command, type SettingSpec } from './settings.js';
import { formatDuration, formatSize } from './units.js';

/** The default as the docs and --help show it. */
export function defaultText(spec: SettingSpec): string {
  if (spec.field === 'hostName') return 'the system host name';
  if (spec.field === 'hostId') return 'contents of /etc/machine-id, else the host name';
  if (spec.field === 'ptrServers') return "the system's resolvers";
  if (spec.field === 'nameOrder') return 'sni,http,quic,dns,ptr';
  const v = DEFAULTS[spec.field];
  if (v === undefined) return 'off';
  if (spec.kind === 'switch') return v ? 'on' : 'off';
  if (spec.kind === 'duration') return formatDuration(v as number);
  if (spec.kind === 'size') return formatSize(v as number);
  if (Array.isArray(v)) return v.length === 0 ? 'none' : v.join(',');
  return String(v);
}

export function flagOptions(command: Command): Record<string, Options> {
  const out: Record<string, Options> = {};
  for (const spec of SETTINGS) {
    if (!spec.commands.includes(command)) continue;
    const env = spec.env ? ` [env ${spec.env}]` : '';
    out[spec.flag] = {
      // Plain strings (not yargs arrays): an array option would swallow the replay file
      // names that follow it; a repeated string flag still arrives as an array.
      type: spec.kind === 'bool' ? 'boolean' : 'string',
      describe: spec.describe + env,
      defaultDescription: defaultText(spec),
    };
  }
  return out;
}

export const CONFIG_FLAG: Options = {
  type: 'string',
  alias: 'c',
  describe: `YAML config file (keys in camelCase) [env ${CONFIG_ENV}]`,
  defaultDescription: 'none',
};
