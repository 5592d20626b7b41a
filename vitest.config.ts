import { defineConfig } from 'vitest/config';

// `npm test`: unit, architecture (import rules), property and integration suites (real sockets on loopback).
// The interop suite (dig, kdig, unbound, promtool, chromium) has its own config.
export default defineConfig({
  test: {
    include: [
      'test/unit/**/*.test.ts',
      'test/architecture/**/*.test.ts',
      'test/property/**/*.test.ts',
      'test/integration/**/*.test.ts',
      'test/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
