/**
 * Catchment maps: every simulated client network a dot coloured by the PoP it
 * lands on, the PoPs marked (a drained or down PoP drawn hollow, with no dots
 * of its colour), a legend with traffic shares. Natural Earth country shapes
 * from the world-atlas package, projected with d3-geo. Output is standalone
 * SVG (for `simulate --map`) or an HTML page around it (admin `GET /map`).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { geoNaturalEarth1, geoPath, geoGraticule10 } from 'd3-geo';
import type { FeatureCollection, Geometry } from 'geojson';
import { feature } from 'topojson-client';
import type { Topology } from 'topojson-specification';
import type { SimReport } from './simulate.js';

const require = createRequire(import.meta.url);

/** Distinct colours for up to 16 PoPs (then they repeat). Exported for the screenshot test. */
export const POP_COLOURS = [
  '#e6194b',
  '#3cb44b',
  '#4363d8',
  '#f58231',
  '#911eb4',
  '#008080',
  '#f032e6',
  '#9a6324',
  '#800000',
  '#000075',
  '#808000',
  '#469990',
  '#e6beff',
  '#aaffc3',
  '#ffd8b1',
  '#fabebe',
];

let world: FeatureCollection<Geometry> | null = null;
function countries(): FeatureCollection<Geometry> {
  if (!world) {
    const topo = JSON.parse(readFileSync(require.resolve('world-atlas/countries-110m.json'), 'utf8')) as Topology;
    world = feature(topo, topo.objects.countries) as unknown as FeatureCollection<Geometry>;
  }
  return world;
}

/** The map's static layers as SVG (the projection is fixed). */
let baseLayer: string | undefined;

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export interface MapPop {
  id: string;
  lat: number;
  lon: number;
}

/**
 * The footer credit for the databases a map was drawn from: which files, and
 * the attribution their licences ask for (DB-IP Lite is CC-BY-4.0).
 */
export function databaseCredit(
  databases: ReadonlyArray<{ file: string; databaseType: string; buildEpoch: number; usedFor: readonly string[] }>,
): string {
  const used = databases.filter((d) => d.usedFor.length > 0);
  const list = used
    .map(
      (d) =>
        `${d.file.split(/[\\/]/).pop()} (${d.databaseType || 'unknown type'}, built ${new Date(d.buildEpoch * 1000).toISOString().slice(0, 10)})`,
    )
    .join(', ');
  const credits: string[] = [];
  // By file name: the vendors' own names (the schema alone does not say whose data it is).
  const names = used.map((d) => d.file.split(/[\\/]/).pop() ?? '');
  if (names.some((n) => /dbip|db-ip/i.test(n))) credits.push('IP geolocation by DB-IP (db-ip.com)');
  if (names.some((n) => /^(geoip2|geolite2)/i.test(n)))
    credits.push('includes GeoLite2/GeoIP2 data created by MaxMind');
  return `Geo database: ${list || 'none'}${credits.length ? `; ${credits.join('; ')}` : ''}.`;
}

export function renderMapSvg(report: SimReport, pops: readonly MapPop[], title = '', footer = ''): string {
  const width = 1200;
  const height = 640;
  const mapHeight = 560;
  const projection = geoNaturalEarth1().fitExtent(
    [
      [10, 40],
      [width - 10, mapHeight],
    ],
    { type: 'Sphere' },
  );
  const path = geoPath(projection);
  const colour = new Map(pops.map((p, i) => [p.id, POP_COLOURS[i % POP_COLOURS.length]]));
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="sans-serif">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(
    `<text x="16" y="26" font-size="18" fill="#222">${esc(title || `Catchments of ${report.record || '.'}: ${report.clients} client networks`)}</text>`,
  );
  // The sphere, graticule and countries never change: projected once per process.
  baseLayer ??= [
    `<path d="${path({ type: 'Sphere' })}" fill="#dde9f3" stroke="#9ab"/>`,
    `<path d="${path(geoGraticule10())}" fill="none" stroke="#c6d6e4" stroke-width="0.5"/>`,
    `<g fill="#ecece4" stroke="#b4b4a8" stroke-width="0.5">`,
    ...countries().features.map((f) => `<path d="${path(f)}"/>`),
    '</g>',
  ].join('\n');
  out.push(baseLayer);
  out.push('<g fill-opacity="0.85">');
  for (const r of report.results) {
    if (r.lat === null || r.lon === null || r.pop === null) continue;
    const xy = projection([r.lon, r.lat]);
    if (!xy) continue;
    const radius = Math.max(1.5, Math.min(6, 1.5 + Math.log10(1 + r.weight)));
    out.push(
      `<circle cx="${xy[0].toFixed(1)}" cy="${xy[1].toFixed(1)}" r="${radius.toFixed(1)}" fill="${colour.get(r.pop)}" data-pop="${esc(r.pop)}"/>`,
    );
  }
  out.push('</g>');
  const serving = new Map(report.pops.map((p) => [p.pop, p.serving]));
  for (const p of pops) {
    const xy = projection([p.lon, p.lat]);
    if (!xy) continue;
    const up = serving.get(p.id) !== false;
    out.push(
      `<g data-pop-marker="${esc(p.id)}"><circle cx="${xy[0].toFixed(1)}" cy="${xy[1].toFixed(1)}" r="8" fill="${up ? colour.get(p.id) : '#ffffff'}" stroke="#111" stroke-width="2"/>` +
        `<text x="${(xy[0] + 10).toFixed(1)}" y="${(xy[1] - 8).toFixed(1)}" font-size="13" font-weight="bold" fill="#111">${esc(p.id)}${up ? '' : ' (out)'}</text></g>`,
    );
  }
  // Legend: one swatch per PoP with its traffic share.
  const shares = new Map(report.pops.map((p) => [p.pop, p.share]));
  const per = Math.min(150, Math.floor((width - 32) / Math.max(1, pops.length)));
  pops.forEach((p, i) => {
    const x = 16 + i * per;
    const y = mapHeight + 34;
    const up = serving.get(p.id) !== false;
    out.push(
      `<rect x="${x}" y="${y - 12}" width="14" height="14" fill="${up ? colour.get(p.id) : '#ffffff'}" stroke="#111"/>`,
    );
    out.push(
      `<text x="${x + 20}" y="${y}" font-size="13" fill="#222">${esc(p.id)} ${((shares.get(p.id) ?? 0) * 100).toFixed(1)}%${up ? '' : ' out'}</text>`,
    );
  });
  out.push(
    `<text x="16" y="${height - 24}" font-size="12" fill="#555">mean RTT ${report.meanRttMs ?? '-'} ms, p95 ${report.p95RttMs ?? '-'} ms, ${report.distinctScopes} distinct scopes. Map data: Natural Earth.</text>`,
  );
  if (footer) out.push(`<text x="16" y="${height - 8}" font-size="11" fill="#555">${esc(footer)}</text>`);
  out.push('</svg>');
  return out.join('\n');
}

/** The admin /map page: the SVG in a minimal HTML document that refreshes itself. */
export function renderMapPage(svg: string, refreshSeconds = 10): string {
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="${refreshSeconds}"><title>Meridian catchments</title>
<style>body{margin:0;background:#fff}svg{display:block;max-width:100%;height:auto}</style></head><body>${svg}</body></html>`;
}
