/**
 * Great-circle distance (haversine) and the modelled RTT. Expected distances
 * are published great-circle figures between the fixture city centres.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FIXTURE_PLACES } from '../../../geo-data/fixture-networks.js';
import { distanceKm, FIBRE_KM_PER_MS, haversineTerm, modelledRttMs, termToKm } from '../../../src/geo/distance.js';

const between = (a: string, b: string) =>
  distanceKm(
    FIXTURE_PLACES[a].latitude,
    FIXTURE_PLACES[a].longitude,
    FIXTURE_PLACES[b].latitude,
    FIXTURE_PLACES[b].longitude,
  );

describe('distanceKm', () => {
  it.each([
    ['lon', 'nyc', 5570],
    ['fra', 'syd', 16_480],
    ['par', 'lon', 344],
    ['tyo', 'gru', 18_530],
    ['jnb', 'syd', 11_040],
    ['sfo', 'nyc', 4_130],
    ['sin', 'bom', 3_900],
    ['fra', 'muc', 304],
  ])('%s to %s is about %d km (within 1 %%)', (a, b, km) => {
    const d = between(a, b);
    expect(Math.abs(d - km) / km).toBeLessThan(0.01);
  });

  it('is zero from a point to itself', () => {
    for (const p of Object.values(FIXTURE_PLACES))
      expect(distanceKm(p.latitude, p.longitude, p.latitude, p.longitude)).toBe(0);
    expect(distanceKm(90, 0, 90, 123)).toBeCloseTo(0, 9); // every longitude is the pole
  });

  it('half the earth between antipodes, across the date line the short way', () => {
    const halfCircumference = Math.PI * 6371.0088;
    expect(distanceKm(0, 0, 0, 180)).toBeCloseTo(halfCircumference, 6);
    expect(distanceKm(90, 0, -90, 0)).toBeCloseTo(halfCircumference, 6);
    // One degree of longitude at the equator, across +-180.
    expect(distanceKm(0, 179.5, 0, -179.5)).toBeCloseTo((Math.PI * 6371.0088) / 180, 6);
  });

  const lat = fc.double({ min: -90, max: 90, noNaN: true });
  const lon = fc.double({ min: -180, max: 180, noNaN: true });

  it('is symmetric, non-negative, at most half the circumference', () => {
    fc.assert(
      fc.property(lat, lon, lat, lon, (a, b, c, d) => {
        const x = distanceKm(a, b, c, d);
        const y = distanceKm(c, d, a, b);
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThanOrEqual(Math.PI * 6371.0088 + 1e-6);
        expect(Math.abs(x - y)).toBeLessThan(1e-6);
      }),
      { numRuns: 2000 },
    );
  });

  it('satisfies the triangle inequality', () => {
    fc.assert(
      fc.property(lat, lon, lat, lon, lat, lon, (a, b, c, d, e, f) => {
        expect(distanceKm(a, b, e, f)).toBeLessThanOrEqual(distanceKm(a, b, c, d) + distanceKm(c, d, e, f) + 1e-3); // 1 m: haversine loses digits near antipodes
      }),
      { numRuns: 1000 },
    );
  });

  it('haversineTerm orders distances like distanceKm (rankings compare the term)', () => {
    fc.assert(
      fc.property(lat, lon, lat, lon, lat, lon, (a, b, c, d, e, f) => {
        const t1 = haversineTerm(a, b, c, d);
        const t2 = haversineTerm(a, b, e, f);
        expect(termToKm(t1)).toBeCloseTo(distanceKm(a, b, c, d), 6);
        if (distanceKm(a, b, c, d) < distanceKm(a, b, e, f) - 1e-6) expect(t1).toBeLessThan(t2);
      }),
      { numRuns: 1000 },
    );
  });

  it('termToKm clamps rounding above 1 to half the circumference', () => {
    expect(termToKm(1)).toBeCloseTo(Math.PI * 6371.0088, 6);
    expect(termToKm(1 + 1e-12)).toBeCloseTo(Math.PI * 6371.0088, 6);
    expect(termToKm(0)).toBe(0);
  });
});

describe('modelledRttMs', () => {
  it('is there-and-back through fibre at 200 km/ms times the path inflation', () => {
    expect(FIBRE_KM_PER_MS).toBe(200);
    expect(modelledRttMs(0, 1.5)).toBe(0);
    expect(modelledRttMs(100, 1)).toBe(1);
    expect(modelledRttMs(1000, 1.5)).toBeCloseTo(15, 12);
    expect(modelledRttMs(5570, 2)).toBeCloseTo(111.4, 9);
    // London-New York with the default inflation 1.5: about 83.6 ms.
    expect(modelledRttMs(between('lon', 'nyc'), 1.5)).toBeCloseTo((2 * between('lon', 'nyc') * 1.5) / 200, 9);
  });

  it('is linear in distance and in the inflation', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 20_100, noNaN: true }),
        fc.double({ min: 1, max: 5, noNaN: true }),
        (km, inf) => {
          const rtt = modelledRttMs(km, inf);
          expect(rtt).toBeCloseTo(((2 * km) / 200) * inf, 6);
          expect(modelledRttMs(2 * km, inf)).toBeCloseTo(2 * rtt, 6);
        },
      ),
    );
  });
});
