import { defineConfig } from 'vitest/config';

// Test files run one at a time: real-kernel tests load the CPU, add swap and measure effects,
// and must not disturb each other. Unit tests are fast enough that this costs little.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // cgroup-v2-only tests run in the v2 lane (test/vm/lane.mjs), never skipped here.
    exclude: ['**/node_modules/**', 'test/**/*.v2.kernel.test.ts'],
    globalSetup: ['test/helpers/globalSetup.ts'],
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
