import { defineConfig } from 'vitest/config';

// Test files run one at a time: real-kernel tests load the CPU, add swap and measure effects,
// and must not disturb each other. Unit tests are fast enough that this costs little.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/globalSetup.ts'],
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
