/**
 * One pass over a broken config: after schema errors, the parts that failed
 * are dropped or replaced by neutral stand-ins so that the rest (cross
 * references, zone files, databases) is still checked and every problem is
 * reported together, as `named-checkconf` and `gdnsd checkconf` do. The
 * stand-ins keep names and indices, so nothing downstream reports a PoP or
 * policy as unknown because its definition had a typo. Also: the keys a
 * schema allows at a path, for "did you mean" on unknown keys.
 */
import type { z } from 'zod';
import type { ConfigPath } from './load.js';

type Raw = Record<string, unknown>;
const isMap = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Stand-ins that pass every check and reference nothing. */
const STAND_IN_POP = { location: [0, 0], ipv4: ['192.0.2.255'] };
const STAND_IN_POLICY = { steps: [{ nearest: {} }] };
const standInZone = (i: number) => ({
  origin: `broken-zone-${i}.invalid.`,
  soa: { mname: 'ns', rname: 'hostmaster', serial: 0 },
  ns: ['ns'],
});

/** A schema problem to work around: its path, and for unknown keys, the keys. */
export interface SchemaProblem {
  path: ConfigPath;
  unknownKeys?: readonly string[];
  /** The last path element is a map key that is itself invalid (a PoP id, a record type). */
  badKey?: boolean;
}

/**
 * A copy of `raw` with every problem worked around, or null when that cannot
 * be done (the document is not a map, or `zones` itself is unusable).
 */
export function salvage(raw: unknown, problems: readonly SchemaProblem[]): Raw | null {
  if (!isMap(raw)) return null;
  const out = structuredClone(raw);
  for (const { path: p, unknownKeys, badKey } of problems) {
    if (unknownKeys || badKey) {
      const parent = at(out, badKey ? p.slice(0, -1) : p);
      if (isMap(parent)) for (const k of unknownKeys ?? [p[p.length - 1] as string]) delete parent[k];
      continue;
    }
    const [section, name] = p;
    if (section === 'pops' && p.length >= 2 && isMap(out.pops)) out.pops[name as string] = STAND_IN_POP;
    else if (section === 'policies' && p.length >= 2 && isMap(out.policies)) {
      const policy = out.policies[name as string];
      const [, , field, index] = p;
      // A bad step: a neutral step in its place (indices stay, the other steps are still checked).
      if (field === 'steps' && typeof index === 'number' && isMap(policy) && Array.isArray(policy.steps))
        policy.steps[index] = { nearest: {} };
      else if (field !== undefined && field !== 'steps' && isMap(policy)) delete policy[field as string];
      else out.policies[name as string] = STAND_IN_POLICY;
    } else if (section === 'zones') {
      if (p.length < 2 || !Array.isArray(out.zones)) return null;
      const zone = out.zones[name as number];
      const [, , part, owner, type] = p;
      if ((part === 'records' || part === 'geo') && p.length >= 4 && isMap(zone) && isMap(zone[part])) {
        const entries = zone[part] as Raw;
        // One bad record (or geo record): drop just it; the zone is still checked.
        if (part === 'records' && p.length >= 5 && isMap(entries[owner as string]))
          delete (entries[owner as string] as Raw)[type as string];
        else delete entries[owner as string];
      } else out.zones[name as number] = standInZone(name as number);
    } else if (!dropLeaf(out, p)) return null;
  }
  return out;
}

function at(root: unknown, p: ConfigPath): unknown {
  let node = root;
  for (const k of p) node = isMap(node) || Array.isArray(node) ? (node as Raw)[k as string] : undefined;
  return node;
}

/** Delete the deepest map key on `p` not inside an array (so defaults apply); false at the root. */
function dropLeaf(root: Raw, p: ConfigPath): boolean {
  let cut = -1;
  for (let i = 0; i < p.length; i++) {
    if (typeof p[i] === 'number') break;
    cut = i;
  }
  if (cut < 0) return false;
  const parent = at(root, p.slice(0, cut));
  if (isMap(parent)) delete parent[p[cut] as string];
  return true;
}

type AnySchema = z.core.$ZodType;

function unwrap(s: AnySchema): AnySchema {
  for (;;) {
    const def = s._zod.def as { type: string; innerType?: AnySchema; in?: AnySchema };
    if (def.innerType) s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else return s;
  }
}

/** The keys the schema allows for the map at `p` (all branches of a union), for "did you mean". */
export function keysAt(schema: AnySchema, p: ConfigPath): string[] {
  const s = unwrap(schema);
  const def = s._zod.def as {
    type: string;
    shape?: Record<string, AnySchema>;
    valueType?: AnySchema;
    element?: AnySchema;
    options?: AnySchema[];
  };
  if (def.type === 'union') return [...new Set(def.options!.flatMap((o) => keysAt(o, p)))];
  if (p.length === 0) return def.type === 'object' ? Object.keys(def.shape!) : [];
  const [head, ...rest] = p;
  if (def.type === 'object') return def.shape![head as string] ? keysAt(def.shape![head as string], rest) : [];
  if (def.type === 'record') return keysAt(def.valueType!, rest);
  if (def.type === 'array') return keysAt(def.element!, rest);
  return [];
}
