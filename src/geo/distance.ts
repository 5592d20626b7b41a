/** Great-circle distance and modelled RTT. Pure. */

const EARTH_RADIUS_KM = 6371.0088;
const RAD = Math.PI / 180;

/** Haversine great-circle distance in kilometres. */
export function distanceKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const dLat = (lat2 - lat1) * RAD;
  const dLon = (lon2 - lon1) * RAD;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
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
