// Bad configuration fails at start with one line that names the setting, where the value
// came from and how to fix it (STYLE.md habit 7).
import { findSetting, otherNames } from './settings.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Canonical setting name (config-file key), or the label given when it is no setting. */
  readonly setting: string;
  /** What a valid value looks like / what to do. */
  readonly fix: string;

  constructor(message: string, setting: string, fix: string) {
    super(message);
    this.setting = setting;
    this.fix = fix;
  }
}

/**
 * The error for a bad value. `label` names the setting as the operator wrote it: a flag
 * ("--learning-period"), an env var, or a file key followed by " in FILE".
 * Message: "invalid --learning-period 'abc': expected a duration like ... (setting
 * learningPeriod / env EGRESSWATCH_LEARNING_PERIOD)".
 */
export function invalidValue(label: string, value: unknown, fix: string): ConfigError {
  const shown = typeof value === 'string' ? value : JSON.stringify(value);
  const [name, ...rest] = label.split(' in ');
  const where = rest.length > 0 ? ` in ${rest.join(' in ')}` : '';
  const spec = findSetting(name);
  return new ConfigError(`invalid ${name} '${shown}'${where}: ${fix}${otherNames(name)}`, spec?.key ?? label, fix);
}
