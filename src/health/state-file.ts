/**
 * The admin state file (after gdnsd's admin_state): one line per PoP,
 * `<pop> UP|DOWN|DRAIN [local]`, '#' comments. UP forces the PoP up, DOWN
 * forces it down, DRAIN takes it out of answers for maintenance. The file is
 * watched; every rewrite replaces all file overrides at once. In a fleet a
 * line applies fleet-wide unless it ends in `local` (docs/fleet.md); without
 * one every line is local. Parsing is pure.
 */
import type { Override } from './state-machine.js';

export interface StateFileResult {
  overrides: Map<string, Override>;
  /** PoPs whose line ends in `local`: this instance only, even in a fleet. */
  local: Set<string>;
  errors: Array<{ line: number; message: string }>;
}

const WORDS: Record<string, Override> = { UP: 'force-up', DOWN: 'force-down', DRAIN: 'drain' };

export function parseStateFile(text: string): StateFileResult {
  const overrides = new Map<string, Override>();
  const local = new Set<string>();
  const errors: StateFileResult['errors'] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const parts = line.split(/\s+/);
    const word = parts[1]?.toUpperCase();
    const scope = parts[2]?.toLowerCase();
    if (parts.length < 2 || parts.length > 3 || !word || !(word in WORDS) || (scope && scope !== 'local')) {
      errors.push({ line: i + 1, message: `expected "<pop> UP|DOWN|DRAIN [local]", got "${line}"` });
      return;
    }
    overrides.set(parts[0], WORDS[word]);
    if (scope) local.add(parts[0]);
    else local.delete(parts[0]);
  });
  return { overrides, local, errors };
}
