#!/usr/bin/env node
// Health check for containers and supervisors (the Dockerfile's HEALTHCHECK):
// GET /healthz on the admin listener; exit 0 on HTTP 200, 1 otherwise, with
// the reason on stderr. MERIDIAN_HEALTHCHECK_URL overrides the address
// (default http://127.0.0.1:9153/healthz, the image's admin listener).
const url = process.env.MERIDIAN_HEALTHCHECK_URL || 'http://127.0.0.1:9153/healthz';
const timeoutMs = Number(process.env.MERIDIAN_HEALTHCHECK_TIMEOUT_MS) || 3000;

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = (await res.text()).trim();
  if (res.status === 200) process.exit(0);
  process.stderr.write(`healthcheck: ${url}: HTTP ${res.status} ${body.slice(0, 200)}\n`);
} catch (err) {
  const cause = err?.cause?.code ?? err?.name ?? 'error';
  process.stderr.write(`healthcheck: ${url}: ${cause}: ${err?.cause?.message ?? err?.message}\n`);
}
process.exit(1);
