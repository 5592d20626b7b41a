/**
 * In-process cost of the flood-protection cores (no sockets): the RRL check
 * for a response that is not limited (bucket hit, with the name hash from the
 * zone lookup and with the name bytes hashed here) and the server cookie
 * evaluation (a valid cookie echoed, a client cookie getting a fresh one).
 * CPU time, best of 7 rounds of one million calls.
 *   node --import tsx bench/protection-micro.ts
 */
import { CookieVerdict, ServerCookies } from '../src/cookie/evaluate.js';
import { randomCookieSecret } from '../src/cookie/secret.js';
import { ResponseKind } from '../src/rrl/kinds.js';
import { ResponseRateLimiter } from '../src/rrl/limiter.js';
import { hashWireName } from '../src/zone/name-table.js';
import { nameToWire } from '../src/zone/names.js';

function best(label: string, body: (i: number) => void): void {
  let min = Infinity;
  for (let round = 0; round < 7; round++) {
    const n = 1_000_000;
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) body(i);
    const u = process.cpuUsage(t0);
    min = Math.min(min, ((u.user + u.system) * 1000) / n);
  }
  console.log(`${label}: ${min.toFixed(0)} ns per call (CPU time, best of 7 x 1M)`);
}

// RRL: 20,000 resolver /24s asking for one name, well under the limit.
const rrl = new ResponseRateLimiter({ responsesPerSecond: 1_000_000 });
const wire = nameToWire('cdn.example.net');
const nameHash = hashWireName(wire);
const sources = Array.from({ length: 20000 }, (_, i) => Uint8Array.from([10 + (i >> 16), (i >> 8) & 255, i & 255, 1]));
best('rrl check, name hash from the lookup', (i) =>
  rrl.checkHashed(i >> 10, 4, sources[i % 20000], 0, ResponseKind.ANSWER, 1, nameHash, wire, 0),
);
best('rrl check, name bytes hashed', (i) =>
  rrl.check(i >> 10, 4, sources[i % 20000], 0, ResponseKind.ANSWER, 1, wire, 0),
);

// Cookies: the option data as it stands in a query, from one IPv4 client.
const cookies = new ServerCookies({ secret: randomCookieSecret() });
const client = Uint8Array.from([192, 0, 2, 53]);
const now = Math.floor(Date.now() / 1000);
const clientOnly = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
const out = new Uint8Array(24);
const v = new CookieVerdict();
cookies.evaluate(clientOnly, 0, 8, 4, client, 0, now, true, true, out, 0, v);
const valid = Uint8Array.from(out);
best('cookie, valid server cookie (verify, echo)', () =>
  cookies.evaluate(valid, 0, 24, 4, client, 0, now, true, true, out, 0, v),
);
best('cookie, client cookie only (make a fresh one)', () =>
  cookies.evaluate(clientOnly, 0, 8, 4, client, 0, now, true, true, out, 0, v),
);
