/**
 * CPU cost of the DNSSEC signing core (no sockets), per operation, best of
 * 5 rounds: signing an A RRset of two records and a compact-denial NSEC
 * (successor name, bitmap, RRSIG) with ECDSAP256SHA256 and ED25519,
 * verifying, and a hit in the bounded signature cache. These bound what a
 * cache miss costs on the query path (a name that does not exist, a geo
 * answer set signed on first use) in phase 2.
 *   node --import tsx bench/dnssec-sign.ts
 */
import { compactDenialNsec } from '../src/dnssec/compact-denial.js';
import { RRType } from '../src/dnssec/constants.js';
import { generateKeyMaterial } from '../src/dnssec/crypto-keys.js';
import { dnskeyRdata } from '../src/dnssec/dnskey.js';
import { keyTag } from '../src/dnssec/key-tag.js';
import { nameWire } from '../src/dnssec/name-wire.js';
import { signRRset, verifyRrsig } from '../src/dnssec/rrsig.js';
import { BoundedCache } from '../src/dnssec/signature-cache.js';

const zone = nameWire('example.net');
const times = { inception: 1_800_000_000, expiration: 1_801_000_000 };
const rrset = {
  owner: nameWire('cdn.example.net'),
  type: RRType.A,
  ttl: 60,
  rdata: [Buffer.from([192, 0, 2, 1]), Buffer.from([192, 0, 2, 2])],
};

function measure(name: string, n: number, op: (i: number) => void): void {
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) op(i);
    const u = process.cpuUsage(t0);
    best = Math.min(best, (u.user + u.system) / n);
  }
  console.log(`${name}: ${best.toFixed(1)} µs per operation (CPU time, best of 5 x ${n})`);
}

for (const algorithm of [13, 15]) {
  const material = generateKeyMaterial(algorithm);
  const dnskey = dnskeyRdata(257, algorithm, material.publicKeyBytes);
  const key = { material, dnskey, keyTag: keyTag(dnskey) };
  const sig = signRRset(rrset, key, zone, times);
  measure(`alg ${algorithm}: sign an A RRset of 2`, 2000, () => signRRset(rrset, key, zone, times));
  measure(`alg ${algorithm}: compact-denial NSEC + RRSIG for a new name`, 2000, (i) => {
    const nsec = compactDenialNsec(nameWire(`n${i}.example.net`), null);
    signRRset({ owner: nsec.owner, type: RRType.NSEC, ttl: 300, rdata: [nsec.rdata] }, key, zone, times);
  });
  measure(`alg ${algorithm}: verify an A RRset of 2`, 2000, () =>
    verifyRrsig(rrset, sig, dnskey, times.inception + 10),
  );
}

const cache = new BoundedCache<Buffer>(10_000);
const keys = Array.from({ length: 10_000 }, (_, i) => `n${i}.example.net`);
for (const k of keys) cache.set(k, Buffer.alloc(100));
measure('bounded cache hit (10,000 entries)', 1_000_000, (i) => cache.get(keys[i % keys.length]));
