// The real-kernel test files the cgroup v2 lane runs (in this order): limits read back from
// cpu.max, cpuset.cpus, memory.max, memory.swap.max and pids.max with their effects measured,
// OOM kills from memory.events, in-place updates, recreate/remove leaving no cgroup, restart
// policies, the init's behaviour, exec and adoption by a new controller, the watching controller,
// pocker run (a pty-driven -it shell, ad-hoc stop/start/rm), the default protections (on v2
// without a devices cgroup: nodev everywhere but the bound nodes), io.max with its effect measured
// on a loop device, pocker stats from cpu.stat, memory.current and memory.stat, user namespaces
// (idmapped layers and binds on ext4, locked mounts, the escapes they stop); plus the cgroup-v2-only tests (*.v2.kernel.test.ts: systemd-style delegation,
// io added under an older container), which the host's config excludes. Every other file here
// also runs on the host.
export const V2_LANE_FILES = [
  'test/runtime/limits.kernel.test.ts',
  'test/controller/once.kernel.test.ts',
  'test/native/init.kernel.test.ts',
  'test/controller/lifecycle.kernel.test.ts',
  'test/controller/watch.kernel.test.ts',
  'test/runtime/security.kernel.test.ts',
  'test/cli/run.kernel.test.ts',
  'test/runtime/ioEffect.kernel.test.ts',
  'test/controller/stats.kernel.test.ts',
  'test/runtime/userns.kernel.test.ts',
  'test/cgroups/delegation.v2.kernel.test.ts',
  'test/runtime/io.v2.kernel.test.ts',
];
