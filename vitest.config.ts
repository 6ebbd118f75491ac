import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/contract/**'],
    // The Redis suites need a real redis-server; test/setup/redis.ts starts one on loopback when none is given.
    globalSetup: ['test/setup/redis.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
