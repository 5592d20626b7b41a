/**
 * `meridian explain`: compile the config like `serve`, then explain one
 * decision (text, or a stable JSON object with --json).
 */
import { ConfigError, UsageError } from '../errors.js';
import { type ExplainContext, type ExplainResult, explain, formatExplain } from '../inspect/explain.js';
import { explainContextFromFile } from '../inspect/explain-context.js';

export interface ExplainOptions {
  configFile: string;
  name: string;
  type: string;
  client: string;
  json: boolean;
  /** A second config: explain the same query under it and say whether the answer moves. */
  compare?: string;
}

export function explainCommand(opts: ExplainOptions): number {
  let ctx: ExplainContext;
  let other: ExplainContext | undefined;
  try {
    ctx = explainContextFromFile(opts.configFile);
    other = opts.compare ? explainContextFromFile(opts.compare) : undefined;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
  let result: ExplainResult;
  let compared: ExplainResult | undefined;
  try {
    result = explain(ctx, opts.name, opts.type, opts.client);
    compared = other ? explain(other, opts.name, opts.type, opts.client) : undefined;
  } catch (err) {
    throw new UsageError((err as Error).message); // a client or name explain cannot use
  }
  if (!compared) {
    process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatExplain(result)}\n`);
    return 0;
  }
  // The same question under the other config (what a reload to it would answer this client).
  const moved = result.pop !== compared.pop || result.answers.join(' ') !== compared.answers.join(' ');
  const verdict = moved
    ? `moves: ${result.pop ?? 'none'} -> ${compared.pop ?? 'none'} (${result.answers.join(' ') || '-'} -> ${compared.answers.join(' ') || '-'})`
    : `same answer under both configs${result.scope !== compared.scope ? ` (scope /${result.scope} -> /${compared.scope})` : ''}`;
  if (opts.json) process.stdout.write(`${JSON.stringify({ a: result, b: compared, moved }, null, 2)}\n`);
  else
    process.stdout.write(
      `A: ${opts.configFile}\n${formatExplain(result)}\nB: ${opts.compare}\n${formatExplain(compared)}\n${verdict}\n`,
    );
  return 0;
}
