import { defineConfig } from 'vitest/config';

// Contract suites run against real servers named by env vars (see test/contract/*.contract.test.ts); each suite
// skips itself, saying which variables it needs, when they are unset. Run: npm run test:contract
export default defineConfig({
  test: {
    include: ['test/contract/**/*.test.ts'],
    // Real servers are slower than fakes: Nextcloud hashes a login password on every request.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // One server, one admin account: run files one after another so they do not share its edit rate limit.
    fileParallelism: false,
  },
});
