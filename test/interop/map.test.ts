/**
 * The live admin catchment map (GET /map) rendered by a real browser:
 * headless Chromium (Debian's, through playwright-core; never a downloaded
 * browser) screenshots the page, a small PNG decoder reads the pixels, and
 * the pixels of each PoP's colour (POP_COLOURS[i] for PoP i in config order)
 * are counted. Draining fra through the admin API must make fra's colour
 * vanish from the map (its marker and legend swatch turn hollow, and no
 * client dot is drawn for it) while London, where Frankfurt's clients go,
 * gains pixels.
 *
 * The fixture city DB has only ~15 distinct places, so the map's synthetic
 * sample (2000 located /24s drawn from the DB) piles up on a handful of
 * points. This test writes its own GeoIP2-City database instead: 8 x 256
 * IPv4 /16s scattered around the eight test PoPs (deterministic jitter), so
 * each PoP gets a couple of hundred distinct dots.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeMmdb, type MmdbNetwork } from '../../geo-data/mmdb-writer.js';
import { POP_COLOURS } from '../../src/inspect/map.js';
import { TEST_POPS, testConfig } from '../helpers/configs.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { countNear, countPainted, decodePng, hexToRgb, type DecodedPng } from './png.js';
import { CHROMIUM, configWithToken, httpGet, httpRequest, requireTool } from './tools.js';

const TOKEN = 'map-interop-token-0123456789abcdef';
const POP_IDS = Object.keys(TEST_POPS);
const FRA = POP_IDS.indexOf('fra');
const LON = POP_IDS.indexOf('lon');
/** Colours the SVG paints (land, sea, page) under the dots' fill-opacity 0.85. */
const BACKGROUNDS = ['#ecece4', '#dde9f3', '#ffffff'].map(hexToRgb);
const MIN_COVERAGE = 0.5;
const TOLERANCE = 20;

let shotsDir: string;
let t: TestServer;
let browser: Browser;
let page: Page;

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** A GeoIP2-City database: for PoP i, the /8 (40+i) split into 256 /16s around the PoP. */
function worldDb(): Buffer {
  const rand = prng(7);
  const networks: MmdbNetwork[] = [];
  POP_IDS.forEach((id, i) => {
    // Europe: fra's clients to the east of Frankfurt, lon's to the west of
    // London, so each is nearest to its own PoP and visible beside the markers.
    const {
      lat: cLat,
      lon: cLon,
      spread,
    } = id === 'fra'
      ? { lat: 50, lon: 20, spread: 7 }
      : id === 'lon'
        ? { lat: 54, lon: -6, spread: 4 }
        : { ...TEST_POPS[id], spread: 7 };
    for (let j = 0; j < 256; j++) {
      const lat = Math.max(-80, Math.min(80, cLat + (rand() * 2 - 1) * spread));
      const lon = cLon + (rand() * 2 - 1) * spread * 1.5;
      networks.push({
        cidr: `${40 + i}.${j}.0.0/16`,
        data: {
          city: { names: { en: `${id}-${j}` } },
          continent: { code: 'EU', names: { en: 'Europe' } },
          country: { iso_code: 'DE', names: { en: 'Germany' } },
          location: {
            latitude: { $type: 'double', value: lat },
            longitude: { $type: 'double', value: lon },
            accuracy_radius: 20,
          },
        },
      });
    }
  });
  return writeMmdb({
    ipVersion: 6,
    recordSize: 28,
    databaseType: 'GeoIP2-City',
    languages: ['en'],
    buildEpoch: 1767225600,
    ipv4Aliases: true,
    networks,
  });
}

/**
 * Pixels of PoP `i`'s colour: solid (markers, legend swatch) or a dot painted
 * at fill-opacity 0.85 over land, sea or page, including the antialiased rim
 * of the dots down to half coverage.
 */
function popPixels(img: DecodedPng, i: number, region?: { x0: number; y0: number; x1: number; y1: number }): number {
  return countPainted(img, hexToRgb(POP_COLOURS[i]), BACKGROUNDS, MIN_COVERAGE, TOLERANCE, region);
}

/** Europe on the 1200x640 Natural Earth map (legend and title excluded). */
const EUROPE = { x0: 540, y0: 70, x1: 740, y1: 200 };

function census(img: DecodedPng): Record<string, number> {
  return Object.fromEntries(POP_IDS.map((id, i) => [id, popPixels(img, i)]));
}

async function screenshot(name: string): Promise<DecodedPng> {
  const png = await page.screenshot({ type: 'png' });
  const file = path.join(shotsDir, name);
  writeFileSync(file, png);
  console.log(`map screenshot: ${file}`);
  return decodePng(png);
}

const dotsOf = (html: string, pop: string) =>
  (html.match(new RegExp(`<circle [^>]*data-pop="${pop}"`, 'g')) ?? []).length;

beforeAll(async () => {
  requireTool(CHROMIUM, 'chromium');
  shotsDir = mkdtempSync(path.join(os.tmpdir(), 'meridian-map-shots-'));
  const dbFile = path.join(shotsDir, 'world-city.mmdb');
  writeFileSync(dbFile, worldDb());
  t = await startServer(configWithToken(TOKEN, testConfig({ databases: [dbFile] })));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 30_000,
  });
  page = await browser.newPage({ viewport: { width: 1200, height: 700 }, deviceScaleFactor: 1 });
});

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('live /map in headless Chromium', () => {
  it('the PNG decoder and colour counter are exact on a known page', async () => {
    await page.setContent(
      `<html><body style="margin:0;background:#fff"><div style="width:100px;height:50px;background:${POP_COLOURS[FRA]}"></div><div style="width:30px;height:10px;background:${POP_COLOURS[LON]}"></div></body></html>`,
    );
    const img = decodePng(await page.screenshot({ type: 'png' }));
    expect([img.width, img.height]).toEqual([1200, 700]);
    expect(countNear(img, [hexToRgb(POP_COLOURS[FRA])], 0)).toBe(5000);
    expect(countNear(img, [hexToRgb(POP_COLOURS[LON])], 0)).toBe(300);
    expect(countNear(img, [[255, 255, 255]], 0)).toBe(1200 * 700 - 5300);
  });

  it('PoP colours follow the config order: fra is POP_COLOURS[0], lon POP_COLOURS[1]', () => {
    expect(POP_IDS.slice(0, 2)).toEqual(['fra', 'lon']);
    expect(POP_COLOURS[FRA]).toBe('#e6194b');
    expect(POP_COLOURS[LON]).toBe('#3cb44b');
  });

  it('draining fra removes its colour from the map; London takes its clients', async () => {
    const admin = t.server.adminPort!;
    const url = `http://127.0.0.1:${admin}/map`;

    // Before: the page itself has many fra dots spread over distinct points.
    const htmlBefore = await httpGet(admin, '/map');
    const fraDots = dotsOf(htmlBefore, 'fra');
    expect(fraDots).toBeGreaterThan(100);
    const fraPoints = new Set(
      htmlBefore.match(/<circle cx="[\d.]+" cy="[\d.]+" r="[\d.]+" fill="#e6194b" data-pop="fra"/g) ?? [],
    );
    expect(fraPoints.size).toBeGreaterThan(50);

    const response = await page.goto(url, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    const shotBefore = await screenshot('map-before-drain.png');
    const before = census(shotBefore);
    console.log('PoP colour pixels before drain:', JSON.stringify(before));
    // Marker (r=8) and legend swatch (14x14) alone are ~350 pixels; the dots add far more.
    expect(before.fra).toBeGreaterThan(900);
    const fraInEurope = popPixels(shotBefore, FRA, EUROPE);
    console.log(`fra pixels in Europe before drain: ${fraInEurope}`);
    expect(fraInEurope).toBeGreaterThan(500);
    expect(before.lon).toBeGreaterThan(500);
    for (const id of POP_IDS) expect(before[id], id).toBeGreaterThan(150);

    const drain = await httpRequest(admin, 'POST', '/admin/pops/fra/drain', { authorization: `Bearer ${TOKEN}` });
    expect(drain.status, drain.body).toBe(200);

    // The page is regenerated for the new health epoch.
    const htmlAfter = await httpGet(admin, '/map');
    expect(htmlAfter).not.toBe(htmlBefore);
    expect(htmlAfter).toMatch(/fra \(out\)/);
    expect(dotsOf(htmlAfter, 'fra')).toBe(0);
    expect(dotsOf(htmlAfter, 'lon')).toBeGreaterThan(dotsOf(htmlBefore, 'lon'));

    await page.goto(url, { waitUntil: 'load' });
    const after = census(await screenshot('map-after-drain.png'));
    console.log('PoP colour pixels after drain:', JSON.stringify(after));
    // Hollow marker, hollow swatch, no dots: essentially nothing of #e6194b is left.
    expect(after.fra).toBeLessThanOrEqual(10);
    // Frankfurt's clients moved (mostly to London): lon's colour grew clearly.
    expect(after.lon).toBeGreaterThan(before.lon + 0.3 * (before.fra - 350));
    // The other PoPs are still drawn.
    for (const id of POP_IDS.filter((p) => p !== 'fra')) expect(after[id], id).toBeGreaterThan(150);
  });

  it('undraining brings fra back', async () => {
    const admin = t.server.adminPort!;
    const r = await httpRequest(admin, 'POST', '/admin/pops/fra/undrain', { authorization: `Bearer ${TOKEN}` });
    expect(r.status, r.body).toBe(200);
    await page.goto(`http://127.0.0.1:${admin}/map`, { waitUntil: 'load' });
    const again = census(await screenshot('map-after-undrain.png'));
    console.log('PoP colour pixels after undrain:', JSON.stringify(again));
    expect(again.fra).toBeGreaterThan(900);
  });
});
