/**
 * The fleet's view of its config section: the schema fragment itself is in
 * build/config/fleet.ts (the main schema plugs it in as `fleet:`); here are
 * the names derived from it (instance name, state directory, rule per PoP).
 * Field reference with examples: docs/fleet.md.
 */
import os from 'node:os';
import path from 'node:path';
import { type FleetConfig, fleetSchema, type VerdictRule, verdictRule } from '../../build/config/fleet.js';

export { type FleetConfig, fleetSchema, type VerdictRule, verdictRule };

/**
 * This instance's fleet name: `fleet.instance`, else the resolved server
 * identity (what NSID and id.server answer), else the host name. Characters
 * a NATS subject token cannot hold are escaped when used in keys (keys.ts).
 */
export function fleetInstanceName(
  fleet: Pick<FleetConfig, 'instance'>,
  identity: string,
  hostname = os.hostname(),
): string {
  return fleet.instance ?? (identity && identity !== 'auto' ? identity : hostname);
}

/** Where followed bundles are written: `fleet.state_dir` (relative to the config file), else `fleet-state/` beside it. */
export function fleetStateDir(fleet: Pick<FleetConfig, 'state_dir'>, configFile: string): string {
  return path.resolve(path.dirname(path.resolve(configFile)), fleet.state_dir ?? 'fleet-state');
}

/** The verdict rule for one PoP. */
export function ruleFor(verdict: FleetConfig['verdict'], pop: string): VerdictRule {
  return verdict.pops[pop] ?? verdict.default;
}
