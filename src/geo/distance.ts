/** Great-circle distance and modelled RTT. Pure. */

const EARTH_RADIUS_KM = 6371.0088;
const RAD = Math.PI / 180;

/**
 * The haversine term a = sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2). It grows with
 * distance, so rankings compare it directly and skip the square root and arcsine.
 */
export function haversineTerm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const sLat = Math.sin((lat2 - lat1) * RAD * 0.5);
  const sLon = Math.sin((lon2 - lon1) * RAD * 0.5);
  return sLat * sLat + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * sLon * sLon;
}

/** Great-circle distance in km for a haversine term. */
export function termToKm(a: number): number {
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** Haversine great-circle distance in kilometres. */
export function distanceKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  return termToKm(haversineTerm(lat1, lon1, lat2, lon2));
}

/** Light in fibre covers about 200 km per millisecond (refractive index ~1.5). */
export const FIBRE_KM_PER_MS = 200;

/**
 * Modelled round-trip time in ms for a great-circle distance: there and back
 * through fibre, times a path-inflation factor for real routes not being
 * great circles (measurements put it around 1.5-2.5).
 */
export function modelledRttMs(km: number, pathInflation: number): number {
  return ((2 * km) / FIBRE_KM_PER_MS) * pathInflation;
}
