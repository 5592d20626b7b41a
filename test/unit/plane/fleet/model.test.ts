/**
 * The fleet model and decider (src/plane/fleet/keys.ts, membership.ts, hold.ts,
 * model.ts, decide.ts) fed by hand with the entries the buckets would deliver:
 * membership by heartbeat age, key escaping, rejection of values that do not
 * decode, the hold/grace/local machine, and the decided view.
 */
import { describe, expect, it } from 'vitest';
import { fleetSchema } from '../../../../src/plane/fleet/config.js';
import { FleetDecider, type DecideInput } from '../../../../src/plane/fleet/decide.js';
import { VerdictHold } from '../../../../src/plane/fleet/hold.js';
import {
  encodeValue,
  escapeToken,
  memberKey,
  observationKey,
  overrideKey,
  parseKey,
  unescapeToken,
} from '../../../../src/plane/fleet/keys.js';
import { isAlive, liveMembers } from '../../../../src/plane/fleet/membership.js';
import { FleetModel } from '../../../../src/plane/fleet/model.js';

const T0 = 1_700_000_000_000;

function heartbeat(model: FleetModel, instance: string, at: number, interval = 2): void {
  model.apply(
    memberKey(instance),
    'PUT',
    encodeValue({
      instance,
      interval,
      started_at: T0,
      at,
      config_version: null,
      config_sha256: null,
      config_error: null,
      software: 'test',
    }),
    at,
  );
}
function observe(model: FleetModel, pop: string, instance: string, up: boolean, at: number, interval = 1): void {
  model.apply(
    observationKey(pop, instance),
    'PUT',
    encodeValue({ instance, pop, up, reason: up ? null : 'refused', rtt_ms: 3, interval, at }),
    at,
  );
}

describe('keys', () => {
  it('escapes instance names into one subject token and back, readably', () => {
    for (const name of ['ns1', 'ns1.fra.example.net', 'a_b', 'ns-1', 'weird name/ü', '_41']) {
      const t = escapeToken(name);
      expect(t).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(unescapeToken(t)).toBe(name);
    }
    expect(escapeToken('ns1.fra')).toBe('ns1_2Efra');
    expect(parseKey(observationKey('fra_2', 'ns1.fra'))).toEqual({
      kind: 'observation',
      pop: 'fra_2',
      instance: 'ns1.fra',
    });
    expect(parseKey(memberKey('a.b'))).toEqual({ kind: 'member', instance: 'a.b' });
    expect(parseKey(overrideKey('syd'))).toEqual({ kind: 'override', pop: 'syd' });
    expect(parseKey('config')).toEqual({ kind: 'config' });
    expect(parseKey('something.else.entirely')).toBeNull();
  });
});

describe('membership', () => {
  it('a member is alive for 1.5 of its own heartbeat periods after its last heartbeat', () => {
    const m = { seenAt: T0, interval: 2 };
    expect(isAlive(m, T0 + 3000)).toBe(true);
    expect(isAlive(m, T0 + 3001)).toBe(false);
    const model = new FleetModel();
    heartbeat(model, 'b', T0);
    heartbeat(model, 'a', T0 + 1000);
    heartbeat(model, 'c', T0 - 10_000);
    expect(liveMembers(model.members.values(), T0 + 2000)).toEqual(['a', 'b']);
    expect(liveMembers(model.members.values(), T0 + 3500)).toEqual(['a']);
  });

  it('a deleted heartbeat (clean shutdown) removes the member at once', () => {
    const model = new FleetModel();
    heartbeat(model, 'a', T0);
    model.apply(memberKey('a'), 'DEL', new Uint8Array(), T0 + 10);
    expect(model.members.size).toBe(0);
  });

  it('values that do not decode, or claim another name than their key, are counted and ignored', () => {
    const model = new FleetModel();
    expect(model.apply(memberKey('a'), 'PUT', Buffer.from('not json'), T0)).toBeNull();
    expect(model.apply(memberKey('a'), 'PUT', encodeValue({ instance: 'b', interval: 2 }), T0)).toBeNull();
    expect(
      model.apply(
        observationKey('fra', 'a'),
        'PUT',
        encodeValue({ instance: 'b', pop: 'fra', up: true, reason: null, rtt_ms: 1, interval: 1, at: 0 }),
        T0,
      ),
    ).toBeNull();
    expect(model.apply(overrideKey('fra'), 'PUT', encodeValue({ override: 'explode', by: 'x', at: 0 }), T0)).toBeNull();
    expect(model.rejected).toBe(4);
    expect(model.members.size + model.observations.size + model.overrides.size).toBe(0);
  });
});

describe('verdict hold', () => {
  it('fleet while connected with votes; held for the grace period; then local', () => {
    const h = new VerdictHold(15_000);
    expect(h.resolve('fra', 'down', true, T0)).toEqual({ source: 'fleet', up: false, knownAt: T0 });
    expect(h.resolve('fra', 'up', false, T0 + 1000)).toEqual({ source: 'held', up: false, knownAt: T0 }); // NATS lost
    expect(h.resolve('fra', 'unknown', true, T0 + 15_000)).toEqual({ source: 'held', up: false, knownAt: T0 }); // no fresh vote
    expect(h.resolve('fra', 'unknown', true, T0 + 15_001)).toEqual({ source: 'local', up: null, knownAt: T0 });
    expect(h.resolve('fra', 'up', true, T0 + 20_000)).toEqual({ source: 'fleet', up: true, knownAt: T0 + 20_000 });
  });

  it('a PoP that never had a fleet verdict is local at once (a real probe beats an assumption)', () => {
    const h = new VerdictHold(15_000);
    expect(h.resolve('fra', 'unknown', true, T0).source).toBe('local');
    expect(h.resolve('ams', 'up', false, T0).source).toBe('local');
  });

  it('forgets PoPs that left the config', () => {
    const h = new VerdictHold(15_000);
    h.resolve('fra', 'up', true, T0);
    h.retain(new Set(['ams']));
    expect(h.resolve('fra', 'unknown', true, T0 + 1).source).toBe('local');
  });
});

describe('fleet decider', () => {
  const verdict = fleetSchema.parse({
    servers: ['127.0.0.1:4222'],
    verdict: { default: 'quorum', pops: { syd: 'any' } },
  }).verdict;
  const input = (over: Partial<DecideInput>): DecideInput => ({
    self: 'a',
    pops: ['fra', 'syd', 'ams', 'sin'],
    verdict,
    replicas: 2,
    staleAfter: 3,
    connected: true,
    now: T0,
    ...over,
  });

  it('assigns R probers per PoP from the live members, self always among them, and lists what self probes', () => {
    const model = new FleetModel();
    for (const m of ['a', 'b', 'c']) heartbeat(model, m, T0);
    const d = new FleetDecider(15_000);
    const v = d.decide(model, input({}));
    expect(v.live).toEqual(['a', 'b', 'c']);
    for (const p of v.pops) expect(p.probers.length).toBe(2);
    const mine = v.pops.filter((p) => p.probers.includes('a')).map((p) => p.pop);
    // No observation yet: every PoP is local, so self probes all of them for now.
    expect(v.pops.every((p) => p.source === 'local')).toBe(true);
    expect(v.probes).toEqual(['fra', 'syd', 'ams', 'sin']);
    // Fresh observations from each PoP's probers: self probes only its share.
    for (const p of v.pops) for (const prober of p.probers) observe(model, p.pop, prober, true, T0 + 500);
    const v2 = d.decide(model, input({ now: T0 + 1000 }));
    expect(v2.pops.every((p) => p.source === 'fleet' && p.up === true)).toBe(true);
    expect(v2.probes).toEqual(mine);
  });

  it('applies the per-PoP rule, shows the votes, and carries fleet overrides', () => {
    const model = new FleetModel();
    for (const m of ['a', 'b', 'c']) heartbeat(model, m, T0);
    for (const pop of ['fra', 'syd']) {
      observe(model, pop, 'a', true, T0);
      observe(model, pop, 'b', true, T0);
      observe(model, pop, 'c', false, T0);
    }
    model.apply(overrideKey('ams'), 'PUT', encodeValue({ override: 'drain', by: 'b', at: T0 }), T0);
    const v = new FleetDecider(15_000).decide(model, input({ now: T0 + 100 }));
    const fra = v.pops.find((p) => p.pop === 'fra')!;
    const syd = v.pops.find((p) => p.pop === 'syd')!;
    expect([fra.rule, fra.up, fra.verdict.up, fra.verdict.down]).toEqual(['quorum', true, 2, 1]);
    expect([syd.rule, syd.up]).toEqual(['any', false]);
    expect(syd.verdict.votes.map((x) => x.instance).sort()).toEqual(['a', 'b', 'c']);
    expect(v.pops.find((p) => p.pop === 'ams')!.override).toEqual({ override: 'drain', by: 'b', setAt: T0 });
    model.apply(overrideKey('ams'), 'DEL', new Uint8Array(), T0 + 200);
    expect(
      new FleetDecider(15_000).decide(model, input({ now: T0 + 300 })).pops.find((p) => p.pop === 'ams')!.override,
    ).toBeNull();
  });

  it('moves a dead member share within two heartbeat periods; keeps the assignment while NATS is lost', () => {
    const model = new FleetModel();
    for (const m of ['a', 'b', 'c']) heartbeat(model, m, T0);
    const d = new FleetDecider(15_000);
    const before = d.decide(model, input({ replicas: 1 }));
    // b and a keep heartbeating every 2 s, c dies right after T0.
    for (const t of [T0 + 2000, T0 + 3400]) for (const m of ['a', 'b']) heartbeat(model, m, t);
    const after = d.decide(model, input({ replicas: 1, now: T0 + 3500 }));
    expect(after.live).toEqual(['a', 'b']);
    for (const p of after.pops) expect(p.probers).not.toContain('c');
    for (const p of before.pops)
      if (!p.probers.includes('c')) expect(after.pops.find((q) => q.pop === p.pop)!.probers).toEqual(p.probers);
    // NATS lost: nobody's heartbeat is seen any more, which is not their death.
    const lost = d.decide(model, input({ replicas: 1, now: T0 + 60_000, connected: false }));
    expect(lost.live).toEqual(['a', 'b']);
    expect(lost.pops.map((p) => p.probers)).toEqual(after.pops.map((p) => p.probers));
  });
});
