/**
 * `meridian simulate`: run a client population (a CSV, or a synthetic world
 * sample with --generate N) through a config's compiled decisions and report
 * traffic share per PoP, RTT and distinct scopes; --compare shows a second
 * config side by side; --map draws the catchments as SVG.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ConfigError, UsageError } from '../errors.js';
import { generateClients, parseClients, type SimClient } from '../geo/clients.js';
import { databaseCredit, renderMapSvg } from '../inspect/map.js';
import { formatReport, simulate } from '../inspect/simulate.js';
import { explainContextFromFile } from '../inspect/explain-context.js';
import { compareSnapshots, formatChangeReport } from '../build/change-guard.js';

export interface SimulateOptions {
  configFile: string;
  clients?: string;
  generate?: number;
  compare?: string;
  map?: string;
  name?: string;
  json: boolean;
}

export function simulateCommand(opts: SimulateOptions): number {
  if (!opts.clients && !opts.generate) throw new UsageError('give either --clients FILE or --generate N');
  try {
    // With --compare, both snapshots carry the change guard's sample: the report below is what a reload would meet.
    const ctx = explainContextFromFile(opts.configFile, { guardSample: opts.compare !== undefined });
    const clients: SimClient[] = opts.clients
      ? parseClients(readFileSync(opts.clients, 'utf8'), opts.clients)
      : generateClients(ctx.locator.dbs, opts.generate!, 1);
    const a = simulate(ctx, clients, opts.name);
    const other = opts.compare ? explainContextFromFile(opts.compare, { guardSample: true }) : undefined;
    const b = other ? simulate(other, clients, opts.name) : undefined;
    // The change guard's verdict on replacing this config by the other (its settings: this config's).
    const guard = ctx.runtime.snapshot.config.reload.change_guard;
    const change = other
      ? compareSnapshots(ctx.runtime.snapshot, other.runtime.snapshot, {
          maxChange: guard.max_change,
          examples: guard.examples,
        })
      : undefined;
    if (opts.map)
      writeFileSync(
        opts.map,
        renderMapSvg(a, ctx.runtime.snapshot.pops, '', databaseCredit(ctx.runtime.snapshot.databases)),
      );
    if (opts.json) process.stdout.write(`${JSON.stringify(b ? { a, b, change } : a, null, 2)}\n`);
    else
      process.stdout.write(
        `${formatReport(a, b)}\n${change ? `change guard (a reload from A to B):\n${formatChangeReport(change)}\n` : ''}${opts.map ? `map: ${opts.map}\n` : ''}`,
      );
    return 0;
  } catch (err) {
    process.stderr.write(
      `meridian simulate: ${err instanceof ConfigError ? `\n${err.message}` : (err as Error).message}\n`,
    );
    return 1;
  }
}
