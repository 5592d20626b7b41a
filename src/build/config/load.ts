/**
 * Read a YAML config file, keep the source positions, and validate it against
 * the schema. Every problem becomes a ConfigIssue `file:line:column: path: message`
 * pointing at the offending node (or at its parent when a key is missing).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isCollection, isMap, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../../errors.js';
import { closest, didYouMean } from '../../util/did-you-mean.js';
import { keysAt, salvage, type SchemaProblem } from './salvage.js';
import { configSchema, type MeridianConfig } from './schema.js';

export type ConfigPath = ReadonlyArray<string | number>;

/** Maps a config path to the position of its YAML node. */
export type Locator = (path: ConfigPath, key?: string) => ConfigIssue;

/**
 * Collects a problem found after schema validation. With `atKey`, the last
 * path element is a map key and the position is the key's (a bad CIDR, an
 * invalid PoP id), not its value's.
 */
export type Report = (path: ConfigPath, message: string, atKey?: boolean) => void;

/** A Report that appends located issues to `issues`. */
export function reporter(locate: Locator, issues: ConfigIssue[]): Report {
  return (p, message, atKey) => {
    const last = p[p.length - 1];
    const at = atKey && typeof last === 'string' ? locate(p.slice(0, -1), last) : locate(p);
    issues.push({ ...at, message });
  };
}

/** A parsed and schema-valid config, with what is needed to report later issues. */
export interface LoadedConfig {
  /**
   * Schema problems already found. When there are any, `config` is the file
   * with the broken parts dropped or stood in for (salvage.ts): good enough to
   * check the rest in the same pass, never to serve.
   */
  problems: ConfigIssue[];
  file: string;
  /** Directory relative paths in the config resolve against. */
  dir: string;
  config: MeridianConfig;
  /** sha256 of the file's bytes (config-hash info metric). */
  hash: string;
  locate: Locator;
}

/** Render a path the way operators read it: zones[0].geo.cdn.policy */
export function formatPath(p: ConfigPath): string {
  let out = '';
  for (const part of p) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

function makeLocator(file: string, doc: Document, lines: LineCounter): Locator {
  const at = (offset: number) => lines.linePos(offset);
  return (p, key) => {
    // Walk down as far as the path exists; report at the deepest node found.
    let node: unknown = doc.contents;
    let offset = 0;
    for (let i = 0; i <= p.length; i++) {
      const n = node as Node | null;
      if (n?.range) offset = n.range[0];
      if (i === p.length) break;
      const next = isCollection(node) ? node.get(p[i], true) : undefined;
      if (next === undefined || next === null) break;
      node = next;
    }
    if (key !== undefined && isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && it.key.value === key);
      const k = pair && isScalar(pair.key) ? pair.key : null;
      if (k?.range) offset = k.range[0];
    }
    const pos = at(offset);
    const fullPath = key !== undefined ? [...p, key] : p;
    return { file, line: pos.line, column: pos.col, path: formatPath(fullPath), message: '' };
  };
}

/**
 * zod reports a failed union (a policy step, a duration) as one "Invalid input";
 * the useful issue is in the branch that matched furthest (deepest path).
 */
function expandUnions(issues: readonly z.core.$ZodIssue[], base: PropertyKey[] = []): z.core.$ZodIssue[] {
  const out: z.core.$ZodIssue[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0 && issue.message === 'Invalid input') {
      const depth = (branch: readonly z.core.$ZodIssue[]) =>
        Math.max(...branch.map((i) => (i.code === 'unrecognized_keys' && i.path.length === 0 ? -1 : i.path.length)));
      const best = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0];
      if (depth(best) > 0) {
        out.push(...expandUnions(best, path));
        continue;
      }
    }
    out.push({ ...issue, path } as z.core.$ZodIssue);
  }
  return out;
}

const unknownKey = (key: string, p: ConfigPath) => `unknown key "${key}"${didYouMean(key, keysAt(configSchema, p))}`;

/**
 * A required key reported missing next to an unknown key that is a misspelling
 * of an allowed one (`locaton:` for `location:`, `contry:` for a `country`
 * step): the unknown key, with its "did you mean", says it all.
 */
function misspeltRequired(issue: z.core.$ZodIssue, all: readonly z.core.$ZodIssue[], raw: unknown): boolean {
  const p = issue.path;
  if (issue.code !== 'invalid_type' || p.length === 0 || valueAt(raw, p as ConfigPath) !== undefined) return false;
  const parent = p.slice(0, -1) as ConfigPath;
  const allowed = keysAt(configSchema, parent);
  return all.some(
    (o) =>
      o.code === 'unrecognized_keys' &&
      o.path.length === parent.length &&
      o.path.every((x, i) => x === parent[i]) &&
      o.keys.some((k) => closest(k, allowed) !== null),
  );
}

function zodIssues(
  error: z.ZodError,
  raw: unknown,
  locate: Locator,
): { issues: ConfigIssue[]; problems: SchemaProblem[] } {
  const issues: ConfigIssue[] = [];
  const problems: SchemaProblem[] = [];
  const expanded = expandUnions(error.issues);
  for (const issue of expanded) {
    const p = issue.path.filter((x): x is string | number => typeof x !== 'symbol');
    if (misspeltRequired(issue, expanded, raw)) {
      problems.push({ path: p });
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) issues.push({ ...locate(p, key), message: unknownKey(key, p) });
      problems.push({ path: p, unknownKeys: issue.keys });
    } else if (issue.code === 'invalid_key' && typeof p[p.length - 1] === 'string') {
      // A bad map key (e.g. a PoP id): point at the key, with the key rule's own message.
      const inner = issue.issues[0]?.message ?? issue.message;
      issues.push({
        ...locate(p.slice(0, -1), p[p.length - 1] as string),
        message: `"${String(p[p.length - 1])}": ${inner}`,
      });
      problems.push({ path: p, badKey: true });
    } else {
      // A one-key map that matches no union branch by its key (a misspelt policy step): say which key.
      const value = valueAt(raw, p);
      const unknown =
        issue.code === 'invalid_union' && isPlainMap(value)
          ? Object.keys(value).filter((k) => !keysAt(configSchema, p).includes(k))
          : [];
      if (unknown.length > 0)
        for (const key of unknown) issues.push({ ...locate(p, key), message: unknownKey(key, p) });
      else issues.push({ ...locate(p), message: issue.message });
      problems.push({ path: p });
    }
  }
  return { issues, problems };
}

const isPlainMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function valueAt(raw: unknown, p: ConfigPath): unknown {
  let node = raw;
  for (const k of p)
    node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[k as string] : undefined;
  return node;
}

/** Parse and schema-check YAML text. Throws ConfigError listing every issue. */
export function parseConfigText(text: string, file: string): LoadedConfig {
  const loaded = readConfigText(text, file);
  if (loaded.problems.length > 0) throw new ConfigError(loaded.problems);
  return loaded;
}

/**
 * Parse and schema-check YAML text, carrying on past schema problems (see
 * LoadedConfig.problems). Throws ConfigError only when nothing more can be
 * checked: YAML syntax errors, or a document too broken to stand in for.
 */
export function readConfigText(text: string, file: string): LoadedConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const locate = makeLocator(file, doc, lines);
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { file, line: pos.line, column: pos.col, path: '', message: `YAML: ${e.message.split('\n')[0]}` };
      }),
    );
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  let parsed = configSchema.safeParse(raw);
  let problems: ConfigIssue[] = [];
  if (!parsed.success) {
    const found = zodIssues(parsed.error, raw, locate);
    problems = found.issues;
    const salvaged = salvage(raw, found.problems);
    parsed = salvaged === null ? parsed : configSchema.safeParse(salvaged);
    if (!parsed.success) throw new ConfigError(problems);
  }
  return {
    problems,
    file,
    dir: path.dirname(path.resolve(file)),
    config: parsed.data,
    hash: createHash('sha256').update(text).digest('hex'),
    locate,
  };
}

/** Read and schema-check a config file. Throws ConfigError (unreadable file included). */
export function loadConfigFile(file: string): LoadedConfig {
  return parseConfigText(readText(file), file);
}

/** {@link readConfigText} for a file: schema problems are carried, not thrown. */
export function readConfigFile(file: string): LoadedConfig {
  return readConfigText(readText(file), file);
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file, line: 1, column: 1, path: '', message: `cannot read: ${(err as Error).message}` }]);
  }
}
