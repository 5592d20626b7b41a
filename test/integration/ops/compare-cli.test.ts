/**
 * Seeing a change before deploying it: `explain --compare` answers one
 * client under both configs, `simulate --compare` prints the change guard's
 * verdict (same sample and threshold as a reload) next to the traffic table.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { movedCityDatabase } from '../../../geo-data/broken-fixtures.js';
import { testConfig } from '../../helpers/configs.js';
import { ROOT, tempDir } from '../../helpers/server.js';

const dir = tempDir('meridian-compare-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const oldConfig = path.join(dir, 'old.yaml');
const newConfig = path.join(dir, 'new.yaml');
writeFileSync(oldConfig, testConfig());
writeFileSync(path.join(dir, 'moved.mmdb'), movedCityDatabase({ '3.0.0.0/9': 'tyo', '3.128.0.0/9': 'tyo' }));
writeFileSync(newConfig, testConfig({ databases: [path.join(dir, 'moved.mmdb')] }));

function cli(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts'), ...args], { cwd: ROOT });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

describe('--compare before deploying', () => {
  it('explain --compare: the client 3.1.0.0/24 moves from nyc to tyo; 6.0.1.0/24 does not', async () => {
    const moved = await cli([
      'explain',
      '-c',
      oldConfig,
      '--compare',
      newConfig,
      '-n',
      'cdn.example.net',
      '--client',
      '3.1.0.0/24',
    ]);
    expect(moved.code).toBe(0);
    expect(moved.out).toMatch(/moves: nyc -> tyo \(192\.0\.2\.3 -> 192\.0\.2\.5\)/);
    const same = await cli([
      'explain',
      '-c',
      oldConfig,
      '--compare',
      newConfig,
      '-n',
      'cdn.example.net',
      '--client',
      '6.0.1.0/24',
      '--json',
    ]);
    expect(JSON.parse(same.out)).toMatchObject({ moved: false, a: { pop: 'syd' }, b: { pop: 'syd' } });
  }, 60_000);

  it('simulate --compare prints what the change guard would do with the same move', async () => {
    const r = await cli(['simulate', '-c', oldConfig, '--compare', newConfig, '--generate', '500']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/change guard \(a reload from A to B\):/);
    expect(r.out).toMatch(/cdn\.example\.net: \d+\.\d\d% of 20000 sampled networks change PoP/);
    expect(r.out).toMatch(/nyc -> tyo: \d+ networks/);
    expect(r.out).toMatch(/over the 5% change guard: held \(id [0-9a-f]{12}\)/);
  }, 60_000);
});
