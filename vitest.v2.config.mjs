import { defineConfig } from 'vitest/config';
import { V2_LANE_FILES } from './test/vm/lane.mjs';

// The cgroup v2 lane: compiled JS (dist-test/, built by `npm run build:tests`) of the real-kernel
// tests that matter for cgroups and lifecycle, run inside a pure cgroup v2 kernel under qemu
// (test/vm/cgroup2-vm). Which files run is decided here, not by skips inside them.
export default defineConfig({
  test: {
    include: V2_LANE_FILES.map((f) => `dist-test/${f.replace(/\.ts$/, '.js')}`),
    globalSetup: ['dist-test/test/helpers/globalSetup.js'],
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
