/**
 * `meridian simulate`: run a client population (a CSV, or a synthetic world
 * sample with --generate N) through a config's compiled decisions and report
 * traffic share per PoP, RTT and distinct scopes; --compare shows a second
 * config side by side; --map draws the catchments as SVG.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { generateClients, parseClients, type SimClient } from '../simulate/clients.js';
import { databaseCredit, renderMapSvg } from '../simulate/map.js';
import { formatReport, simulate } from '../simulate/simulate.js';
import { explainContextFromFile } from './explain.js';

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
  if (!opts.clients && !opts.generate) {
    process.stderr.write('meridian simulate: give --clients FILE or --generate N\n');
    return 2;
  }
  try {
    const ctx = explainContextFromFile(opts.configFile);
    const clients: SimClient[] = opts.clients ? parseClients(readFileSync(opts.clients, 'utf8'), opts.clients) : generateClients(ctx.locator.dbs, opts.generate!, 1);
    const a = simulate(ctx, clients, opts.name);
    const b = opts.compare ? simulate(explainContextFromFile(opts.compare), clients, opts.name) : undefined;
    if (opts.map) writeFileSync(opts.map, renderMapSvg(a, ctx.runtime.snapshot.pops, '', databaseCredit(ctx.runtime.snapshot.databases)));
    if (opts.json) process.stdout.write(`${JSON.stringify(b ? { a, b } : a, null, 2)}\n`);
    else process.stdout.write(`${formatReport(a, b)}\n${opts.map ? `map: ${opts.map}\n` : ''}`);
    return 0;
  } catch (err) {
    process.stderr.write(`meridian simulate: ${err instanceof ConfigError ? `\n${err.message}` : (err as Error).message}\n`);
    return 1;
  }
}
