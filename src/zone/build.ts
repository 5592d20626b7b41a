/**
 * Build validated zone data from the config: records written in YAML (or an
 * RFC 1035 master file referenced by `file:`), the SOA and apex NS, and the
 * geo record declarations. Checks what an authoritative server must refuse to
 * load: data outside the zone, CNAME next to other data (RFC 1034 3.6.2),
 * data hidden below a delegation, geo names clashing with static addresses,
 * overlapping zone definitions. Problems go to `report` with their config path.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { GeoRecordConfig, ZoneConfig } from '../build/config/schema.js';
import { didYouMean } from '../util/did-you-mean.js';
import { ZoneFileError } from '../errors.js';
import { parseMasterFile } from './master-file.js';
import { isSubdomain, resolveName } from './names.js';
import { parseRecordText } from './record-data.js';
import { recordTypeOf, type RecordType, type SoaData, type ZoneRecord } from './types.js';

export type { Report } from '../build/config/load.js';
import type { Report } from '../build/config/load.js';

/** A zone ready to be compiled into answers. Plain data. */
export interface ZoneData {
  origin: string;
  soa: SoaData;
  soaTtl: number;
  /** RFC 2308 section 5: min(SOA TTL, SOA MINIMUM). */
  negativeTtl: number;
  /** Every static record, SOA and apex NS included. */
  records: ZoneRecord[];
  /** Owner name -> the key it was written under in the YAML `records:` map (for error positions). */
  ownerKeys: Record<string, string>;
}

/** A geo record: the answer for `name` (types A/AAAA) comes from policy `policy`. */
export interface GeoRecordData {
  zone: number;
  name: string;
  /** The owner as written under `geo:` (for error positions). */
  owner: string;
  types: Array<'A' | 'AAAA'>;
  policy: string;
  ttl: number;
  ttlDegraded: number;
  maxAnswers: number;
  /** ECS scopes of the current answer, or of the full ranking (config `scopes:`). */
  scopes: 'current' | 'full_ranking';
}

/** Turn "hostmaster@example.net" into the RNAME form "hostmaster.example.net." */
function rnameText(text: string): string {
  const at = text.indexOf('@');
  if (at < 0) return text;
  return `${text.slice(0, at).replace(/\./g, '\\.')}.${text.slice(at + 1).replace(/\.?$/, '.')}`;
}

function yamlRecords(
  zc: ZoneConfig,
  origin: string,
  at: ReadonlyArray<string | number>,
  report: Report,
  ownerKeys: Record<string, string>,
): ZoneRecord[] {
  const out: ZoneRecord[] = [];
  for (const [owner, types] of Object.entries(zc.records)) {
    let name: string;
    try {
      name = resolveName(owner, origin);
    } catch (err) {
      report([...at, 'records', owner], (err as Error).message, true);
      continue;
    }
    ownerKeys[name] = owner;
    for (const [type, spec] of Object.entries(types)) {
      if (spec === undefined) continue;
      const values =
        typeof spec === 'string'
          ? [spec]
          : Array.isArray(spec)
            ? spec
            : typeof spec.values === 'string'
              ? [spec.values]
              : spec.values;
      const ttl = typeof spec === 'object' && !Array.isArray(spec) && spec.ttl !== undefined ? spec.ttl : zc.ttl;
      values.forEach((value, i) => {
        try {
          const rtype = recordTypeOf(type);
          // TXT written without quotes (or generic \#) is one string, so operators need not quote every value.
          const text = rtype === 'TXT' && !/^\s*("|\\#)/.test(value) ? JSON.stringify(value) : value;
          const data = parseRecordText(rtype, text, origin);
          out.push({ name, type: rtype, ttl, data } as ZoneRecord);
        } catch (err) {
          report(
            [...at, 'records', owner, type, ...(values.length > 1 || Array.isArray(spec) ? [i] : [])],
            (err as Error).message,
          );
        }
      });
    }
  }
  return out;
}

function soaFromYaml(
  zc: ZoneConfig,
  origin: string,
  at: ReadonlyArray<string | number>,
  report: Report,
): SoaData | null {
  if (!zc.soa) return null;
  try {
    return {
      mname: resolveName(zc.soa.mname, origin),
      rname: resolveName(rnameText(zc.soa.rname), origin),
      serial: zc.soa.serial,
      refresh: zc.soa.refresh,
      retry: zc.soa.retry,
      expire: zc.soa.expire,
      minimum: zc.soa.minimum,
    };
  } catch (err) {
    report([...at, 'soa'], (err as Error).message);
    return null;
  }
}

/** Build one zone. Returns null when it cannot be used (problems reported). */
export function buildZone(zc: ZoneConfig, index: number, configDir: string, report: Report): ZoneData | null {
  const at = ['zones', index];
  let origin: string;
  try {
    origin = resolveName(zc.origin.endsWith('.') ? zc.origin : `${zc.origin}.`, '');
  } catch (err) {
    report([...at, 'origin'], (err as Error).message);
    return null;
  }
  let records: ZoneRecord[] = [];
  if (zc.file) {
    const file = path.resolve(configDir, zc.file);
    // Every bad record of the file is reported (the rest of the file is still read), like named-checkzone.
    let broken = false;
    try {
      records = parseMasterFile(readFileSync(file, 'utf8'), { file, origin, defaultTtl: zc.ttl }, (e) => {
        report([...at, 'file'], e.message);
        broken = true;
      });
    } catch (err) {
      report(
        [...at, 'file'],
        err instanceof ZoneFileError ? err.message : `cannot read ${file}: ${(err as Error).message}`,
      );
      return null;
    }
    if (broken) return null;
  }
  const ownerKeys: Record<string, string> = {};
  records.push(...yamlRecords(zc, origin, at, report, ownerKeys));
  const where = (name: string) =>
    ownerKeys[name] !== undefined
      ? [...at, 'records', ownerKeys[name]]
      : zc.file
        ? [...at, 'file']
        : [...at, 'records'];

  // SOA: from YAML or from the master file, exactly one, at the apex.
  const fileSoa = records.filter((r) => r.type === 'SOA');
  records = records.filter((r) => r.type !== 'SOA');
  let soa = soaFromYaml(zc, origin, at, report);
  let soaTtl = zc.soa?.ttl ?? zc.ttl;
  if (soa && fileSoa.length > 0) report([...at, 'soa'], 'SOA given both in the YAML and in the zone file');
  if (!soa && fileSoa.length === 1 && fileSoa[0].type === 'SOA') {
    soa = fileSoa[0].data;
    soaTtl = fileSoa[0].ttl;
    if (fileSoa[0].name !== origin)
      report([...at, 'file'], `SOA owner ${fileSoa[0].name} is not the zone apex ${origin}`);
  } else if (fileSoa.length > 1) report([...at, 'file'], 'more than one SOA record');
  if (!soa) {
    report(at, 'zone has no SOA (give soa: or a zone file with one)');
    return null;
  }
  for (const [i, ns] of (zc.ns ?? []).entries()) {
    try {
      records.push({ name: origin, type: 'NS', ttl: zc.ttl, data: resolveName(ns, origin) });
    } catch (err) {
      report([...at, 'ns', i], (err as Error).message);
    }
  }
  if (!records.some((r) => r.type === 'NS' && r.name === origin))
    report(at, 'zone has no NS records at the apex (give ns: or NS records)');
  for (const r of records) {
    if (!isSubdomain(r.name, origin))
      report(where(r.name), `${r.name} ${r.type} is outside zone ${origin || '.'}`, ownerKeys[r.name] !== undefined);
  }
  records.unshift({ name: origin, type: 'SOA', ttl: soaTtl, data: soa });
  return { origin, soa, soaTtl, negativeTtl: Math.min(soaTtl, soa.minimum), records: dedupe(records), ownerKeys };
}

/** Drop exact duplicate records (RFC 2181 5: an RRset has no duplicate RRs). */
function dedupe(records: ZoneRecord[]): ZoneRecord[] {
  const seen = new Set<string>();
  return records.filter((r) => {
    const key = `${r.name}|${r.type}|${JSON.stringify(r.data)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Geo record declarations of one zone. */
export function buildGeoRecords(
  zc: ZoneConfig,
  zone: ZoneData,
  zoneIndex: number,
  policyNames: ReadonlySet<string>,
  report: Report,
): GeoRecordData[] {
  const out: GeoRecordData[] = [];
  for (const [owner, g] of Object.entries(zc.geo) as Array<[string, GeoRecordConfig]>) {
    const at = ['zones', zoneIndex, 'geo', owner];
    let name: string;
    try {
      name = resolveName(owner, zone.origin);
    } catch (err) {
      report(at, (err as Error).message);
      continue;
    }
    if (!policyNames.has(g.policy)) {
      report(
        [...at, 'policy'],
        `unknown policy "${g.policy}"${didYouMean(g.policy, policyNames)}${policyNames.size ? ` (known: ${[...policyNames].join(', ')})` : ''}`,
      );
      continue;
    }
    out.push({
      zone: zoneIndex,
      name,
      owner,
      types: [...new Set(g.types)],
      policy: g.policy,
      ttl: g.ttl,
      ttlDegraded: Math.min(g.ttl_degraded, g.ttl),
      maxAnswers: g.max_answers,
      scopes: g.scopes,
    });
  }
  return out;
}

/**
 * Cross-zone checks once every zone is built: CNAME exclusivity, occluded
 * data below delegations, geo names against static data, duplicate origins.
 */
export function checkZones(
  zones: ReadonlyArray<ZoneData | null>,
  geo: readonly GeoRecordData[],
  report: Report,
  /** `file:line:column` of a config path, to point at the other place of a duplicate. */
  position?: (path: ReadonlyArray<string | number>) => string,
): void {
  const origins = new Map<string, number>();
  zones.forEach((z, i) => {
    if (!z) return;
    const first = origins.get(z.origin);
    if (first !== undefined) {
      const where = position ? ` (${position(['zones', first, 'origin'])})` : '';
      report(['zones', i, 'origin'], `zone ${z.origin || '.'} is defined twice: here and at zones[${first}]${where}`);
    } else origins.set(z.origin, i);
  });
  zones.forEach((z, zi) => {
    if (!z) return;
    const where = (name: string): [ReadonlyArray<string | number>, boolean] =>
      z.ownerKeys[name] !== undefined
        ? [['zones', zi, 'records', z.ownerKeys[name]], true]
        : [['zones', zi, 'records'], false];
    const byName = new Map<string, Set<RecordType>>();
    const dnameCount = new Map<string, number>();
    for (const r of z.records) {
      (byName.get(r.name) ?? byName.set(r.name, new Set()).get(r.name)!).add(r.type);
      if (r.type === 'DNAME') dnameCount.set(r.name, (dnameCount.get(r.name) ?? 0) + 1);
    }
    const cuts = [...byName].filter(([n, t]) => n !== z.origin && t.has('NS')).map(([n]) => n);
    const dnames = [...dnameCount.keys()];
    /** The DNAME owner strictly above `name`, if any: nothing may live there (RFC 6672 2.3). */
    const dnameAbove = (name: string) => dnames.find((d) => d !== name && isSubdomain(name, d));
    for (const [name, types] of byName) {
      const [at, atKey] = where(name);
      if (types.has('CNAME') && types.size > 1)
        report(at, `${name} has a CNAME and other data (RFC 1034 3.6.2)`, atKey);
      const cut = cuts.find((c) => c !== name && isSubdomain(name, c));
      if (cut && [...types].some((t) => t !== 'A' && t !== 'AAAA')) {
        report(at, `${name} is below the delegation ${cut}: only glue (A/AAAA) may be there`, atKey);
      }
      const inner = [...origins.keys()].find((o) => o !== z.origin && isSubdomain(o, z.origin) && isSubdomain(name, o));
      if (inner !== undefined) report(at, `${name} belongs to the more specific zone ${inner}`, atKey);
      const dname = dnameAbove(name);
      if (dname !== undefined)
        report(at, `${name} is below the DNAME at ${dname}: a DNAME owner has no descendants (RFC 6672 2.3)`, atKey);
      if ((dnameCount.get(name) ?? 0) > 1) report(at, `${name} has more than one DNAME (RFC 6672 2.4)`, atKey);
      if (types.has('DNAME') && cuts.includes(name))
        report(at, `${name} is a delegation point: it cannot own a DNAME`, atKey);
      if (types.has('DS') && name === z.origin)
        report(at, `the DS of ${z.origin || '.'} belongs in the parent zone (RFC 4035 2.4), not at the apex`, atKey);
      else if (types.has('DS') && !cuts.includes(name))
        report(at, `${name} has DS records but no NS: DS belongs at a delegation point (RFC 4035 2.4)`, atKey);
    }
    for (const o of origins.keys()) {
      const dname = o !== z.origin && isSubdomain(o, z.origin) ? dnameAbove(o) : undefined;
      if (dname !== undefined)
        report(
          ['zones', origins.get(o)!, 'origin'],
          `zone ${o} is below the DNAME at ${dname} in zone ${z.origin || '.'} (RFC 6672 2.3)`,
        );
    }
    for (const g of geo.filter((x) => x.zone === zi)) {
      const at = ['zones', zi, 'geo', g.owner];
      const types = byName.get(g.name);
      if (types?.has('CNAME')) report(at, `${g.name} has a CNAME: it cannot also be a geo record`, true);
      for (const t of g.types)
        if (types?.has(t)) report(at, `${g.name} has a static ${t} record and a geo ${t} record`, true);
      if (cuts.some((c) => isSubdomain(g.name, c))) report(at, `${g.name} is at or below a delegation`, true);
      const dname = dnameAbove(g.name);
      if (dname !== undefined) report(at, `${g.name} is below the DNAME at ${dname} (RFC 6672 2.3)`, true);
    }
  });
}
