/**
 * What the policy needs from a geo database record, independent of schema:
 * country, continent, subdivision and coordinates (GeoIP2/GeoLite2 City and
 * Country, DB-IP / ip-location-db flat) and the AS number (GeoLite2-ASN).
 */
import { continentOf } from './continents.js';
import type { MmdbFile } from './mmdb.js';

export interface GeoLocation {
  /** ISO 3166-1 alpha-2, upper case, or null. */
  country: string | null;
  /** AF AN AS EU NA OC SA, or null. */
  continent: string | null;
  /** Subdivision ISO code (GeoIP2) or null. */
  subdivisionCode: string | null;
  /** Subdivision name (GeoIP2 names.en, DB-IP state1) or null. */
  subdivisionName: string | null;
  /** Degrees; NaN when the record has no coordinates. */
  lat: number;
  lon: number;
  /** City name for explain output, or null. */
  city: string | null;
}

export const UNKNOWN_LOCATION: GeoLocation = Object.freeze({
  country: null,
  continent: null,
  subdivisionCode: null,
  subdivisionName: null,
  lat: NaN,
  lon: NaN,
  city: null,
});

export function hasCoordinates(loc: GeoLocation): boolean {
  return Number.isFinite(loc.lat) && Number.isFinite(loc.lon);
}

/** Map keys we read, numbered so records are scanned without string compares. */
const K = {
  country: 1,
  registered_country: 2,
  continent: 3,
  location: 4,
  subdivisions: 5,
  city: 6,
  country_code: 7,
  state1: 8,
  latitude: 9,
  longitude: 10,
  iso_code: 11,
  code: 12,
  names: 13,
  en: 14,
  autonomous_system_number: 15,
} as const;
const SYMBOLS: ReadonlyMap<string, number> = new Map(Object.entries(K));

/** A nested map's string field, e.g. country.iso_code; null if absent. */
function nestedString(db: MmdbFile, off: number, key: number): string | null {
  const v = db.field(off, key, SYMBOLS);
  return v < 0 ? null : db.stringAt(v);
}

function namesEn(db: MmdbFile, off: number): string | null {
  const names = db.field(off, K.names, SYMBOLS);
  return names < 0 ? null : nestedString(db, names, K.en);
}

/**
 * Extract the location from the data record at absolute offset `off`. Reads
 * only the fields it needs (GeoIP2 records carry names in many languages);
 * the city name only when `withCity` (explain), as the compiler never needs it.
 */
export function extractLocation(db: MmdbFile, off: number, withCity = false): GeoLocation {
  let country: string | null = null;
  let registered: string | null = null;
  let continent: string | null = null;
  let subdivisionCode: string | null = null;
  let subdivisionName: string | null = null;
  let city: string | null = null;
  let lat = NaN;
  let lon = NaN;
  const n = db.mapSize(off);
  let p = db.entriesStart;
  for (let i = 0; i < n; i++) {
    const key = db.symbolAt(p, SYMBOLS);
    const v = db.skip(p);
    p = db.skip(v);
    switch (key) {
      // GeoIP2 / GeoLite2 schema
      case K.country:
        country = nestedString(db, v, K.iso_code);
        break;
      case K.registered_country:
        registered = nestedString(db, v, K.iso_code);
        break;
      case K.continent:
        continent = nestedString(db, v, K.code);
        break;
      case K.location: {
        const la = db.field(v, K.latitude, SYMBOLS);
        const lo = db.field(v, K.longitude, SYMBOLS);
        if (la >= 0 && lo >= 0) {
          lat = db.numberAt(la);
          lon = db.numberAt(lo);
        }
        break;
      }
      case K.subdivisions: {
        const first = db.firstElement(v);
        if (first >= 0) {
          subdivisionCode = nestedString(db, first, K.iso_code);
          subdivisionName = namesEn(db, first);
        }
        break;
      }
      case K.city:
        // City names are many and unique: only decoded for explain, never cached.
        if (withCity) city = db.stringAt(v, false) ?? namesEn(db, v);
        break;
      // DB-IP / ip-location-db flat schema
      case K.country_code:
        country = db.stringAt(v);
        break;
      case K.state1:
        subdivisionName = db.stringAt(v);
        break;
      case K.latitude:
        lat = db.numberAt(v);
        break;
      case K.longitude:
        lon = db.numberAt(v);
        break;
    }
  }
  const cc = country ?? registered;
  const countryCode = cc ? cc.toUpperCase() : null;
  return {
    country: countryCode,
    continent: continent ?? (countryCode ? continentOf(countryCode) : null),
    subdivisionCode: subdivisionCode || null,
    subdivisionName: subdivisionName || null,
    lat,
    lon,
    city: city || null,
  };
}

/** Extract the AS number (GeoLite2-ASN / ip-location-db asn schema), or 0. */
export function extractAsn(db: MmdbFile, off: number): number {
  const v = db.field(off, K.autonomous_system_number, SYMBOLS);
  const asn = v < 0 ? 0 : db.numberAt(v);
  return Number.isFinite(asn) ? asn : 0;
}
