/**
 * The admin state file (after gdnsd's admin_state): one line per PoP,
 * `<pop> UP|DOWN|DRAIN`, '#' comments. UP forces the PoP up, DOWN forces it
 * down, DRAIN takes it out of answers for maintenance. The file is watched;
 * every rewrite replaces all file overrides at once. Parsing is pure.
 */
import type { Override } from './state-machine.js';

export interface StateFileResult {
  overrides: Map<string, Override>;
  errors: Array<{ line: number; message: string }>;
}

const WORDS: Record<string, Override> = { UP: 'force-up', DOWN: 'force-down', DRAIN: 'drain' };

export function parseStateFile(text: string): StateFileResult {
  const overrides = new Map<string, Override>();
  const errors: StateFileResult['errors'] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const parts = line.split(/\s+/);
    const word = parts[1]?.toUpperCase();
    if (parts.length !== 2 || !word || !(word in WORDS)) {
      errors.push({ line: i + 1, message: `expected "<pop> UP|DOWN|DRAIN", got "${line}"` });
      return;
    }
    overrides.set(parts[0], WORDS[word]);
  });
  return { overrides, errors };
}
