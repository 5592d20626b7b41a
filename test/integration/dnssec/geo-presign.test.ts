/**
 * Geo answers and health changes: a geo answer set is signed once and
 * shared by every decision giving the same set; after a health change the
 * answers DO=1 clients used are signed in the background (the data plane's
 * setHealth), so the next query finds its new answer signed and the query
 * path signs nothing (inlineGeoSignings stays put); a set never seen is
 * signed on first use, counted. A re-sign of the same config carries the
 * list over to the new runtime.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSnapshotFromFile } from '../../../src/build/snapshot.js';
import { resignZones } from '../../../src/build/zone-signing.js';
import { DataPlane } from '../../../src/plane/data-plane.js';
import { TCP } from '../../../src/wire/constants.js';
import { buildQuery, rawSections } from '../../helpers/dns.js';
import { makeKeys, signedConfig } from '../../helpers/dnssec.js';
import { InProcessListener } from '../../helpers/in-process.js';
import { tempDir } from '../../helpers/server.js';

function setup(): { plane: DataPlane; listener: InProcessListener } {
  const dir = tempDir();
  makeKeys(dir);
  const file = path.join(dir, 'meridian.yaml');
  writeFileSync(file, signedConfig('.'));
  const plane = new DataPlane(buildSnapshotFromFile(file));
  return { plane, listener: new InProcessListener(plane) };
}

const ask = (l: InProcessListener, ecs: string) => {
  const raw = l.answer(buildQuery({ name: 'cdn.example.net', type: 'A', edns: true, dnssecOk: true, ecs }))!;
  const answer = rawSections(raw).answer;
  return {
    a: answer.filter((r) => r.type === 1).map((r) => r.rdata),
    sigs: answer.filter((r) => r.type === 46).length,
  };
};
const turns = (n: number) =>
  new Promise<void>((r) => {
    let i = 0;
    const t = () => (++i >= n ? r() : setImmediate(t));
    setImmediate(t);
  });

describe('geo answers signed per answer set, pre-signed after a health change', () => {
  it('signs on first use (counted), shares a set between clients, and pre-signs after a PoP goes down', async () => {
    const { plane, listener } = setup();
    const rt = plane.runtime;
    const frankfurt = ask(listener, '1.0.1.0/24');
    expect(frankfurt).toEqual({ a: ['c0000201'], sigs: 1 });
    expect(rt.dnssec!.inlineGeoSignings).toBe(1);
    ask(listener, '1.0.200.0/24'); // the same decision
    ask(listener, '1.0.1.0/24');
    expect(rt.dnssec!.inlineGeoSignings).toBe(1);
    const sydney = ask(listener, '6.0.1.0/24');
    expect(sydney.a).not.toEqual(frankfurt.a);
    expect(rt.dnssec!.inlineGeoSignings).toBe(2);
    // Frankfurt goes down: the background signs the new answers before clients ask.
    const fra = rt.snapshot.pops.findIndex((p) => p.id === 'fra');
    const serving = new Uint8Array(rt.snapshot.pops.length).fill(1);
    serving[fra] = 0;
    plane.setHealth({ epoch: rt.health.view.epoch + 1, serving });
    await turns(5);
    const after = ask(listener, '1.0.1.0/24');
    expect(after.a).not.toEqual(frankfurt.a);
    expect(after.sigs).toBe(1);
    expect(rt.dnssec!.inlineGeoSignings).toBe(2);
    // Back up: Frankfurt's set was signed before and is still in the cache by RRset.
    plane.setHealth({ epoch: rt.health.view.epoch + 1, serving: serving.fill(1) });
    expect(ask(listener, '1.0.1.0/24')).toEqual(frankfurt);
    expect(rt.dnssec!.inlineGeoSignings).toBe(2);
    await plane.close();
  });

  it('a re-signed snapshot of the same config pre-signs what clients used before', async () => {
    const { plane, listener } = setup();
    ask(listener, '1.0.1.0/24');
    const s = plane.runtime.snapshot;
    const rt = plane.install({ ...s, ...resignZones(s, Math.floor(Date.now() / 1000)) });
    await turns(5);
    expect(ask(listener, '1.0.1.0/24').sigs).toBe(1);
    expect(rt.dnssec!.inlineGeoSignings).toBe(0);
    await plane.close();
  });
});

describe('the signing budget', () => {
  it('past dnssec.signing_budget a UDP query for a new name gets TC=1 (counted); TCP is always signed; cached names still answered', async () => {
    const dir = tempDir();
    makeKeys(dir);
    const file = path.join(dir, 'meridian.yaml');
    writeFileSync(file, signedConfig('.', { zoneExtra: '\n      signing_budget: 20' }));
    const plane = new DataPlane(buildSnapshotFromFile(file));
    const udp = new InProcessListener(plane);
    const tcp = new InProcessListener(plane, undefined, TCP);
    const q = (i: number) => buildQuery({ name: `r${i}.example.net`, type: 'A', edns: true, dnssecOk: true });
    const tc = (raw: Buffer) => (raw[2] & 0x02) !== 0;
    const replies = Array.from({ length: 60 }, (_, i) => udp.answer(q(i))!);
    const truncated = replies.filter(tc).length;
    expect(truncated).toBeGreaterThanOrEqual(30); // 20 tokens, refilled at 20/s during a few milliseconds
    expect(truncated).toBeLessThan(60);
    expect(rawSections(replies.find(tc)!).authority).toEqual([]);
    expect(plane.runtime.dnssec!.stats()[0].budgetExceeded).toBe(truncated);
    // The same name over TCP: signed whatever the budget.
    const i = replies.findIndex(tc);
    const overTcp = tcp.answer(q(i))!;
    expect(tc(overTcp)).toBe(false);
    expect(rawSections(overTcp).authority.map((r) => r.type)).toEqual([6, 46, 47, 46]);
    // Now cached: UDP answers it too, budget or not.
    expect(tc(udp.answer(q(i))!)).toBe(false);
    // Names below a DNAME whose new name does not exist cost a signature each: the same budget applies.
    const viaDname = Array.from(
      { length: 40 },
      (_, k) => udp.answer(buildQuery({ name: `d${k}.old.example.net`, type: 'A', edns: true, dnssecOk: true }))!,
    );
    expect(viaDname.filter(tc).length).toBeGreaterThan(0);
    const dnameTcp = rawSections(
      tcp.answer(buildQuery({ name: 'd0.old.example.net', type: 'A', edns: true, dnssecOk: true }))!,
    );
    expect(dnameTcp.authority.map((r) => `${r.name} ${r.type}`)).toEqual([
      'example.net 6',
      'example.net 46',
      'd0.new.example.net 47',
      'd0.new.example.net 46',
    ]);
    await plane.close();
  });
});
