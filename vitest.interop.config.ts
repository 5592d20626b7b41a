import { defineConfig } from 'vitest/config';

// `npm run test:interop`: independent tools from Debian against a real server.
export default defineConfig({
  test: {
    include: ['test/interop/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
