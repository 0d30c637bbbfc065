import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { instanceCgroups, instanceProcesses, type TestInstance } from './instance.js';
import { until } from './wait.js';

/**
 * What a reboot does to one test instance: every process of it is killed, everything it mounted
 * is unmounted, its cgroups are gone, its state dir (tmpfs on a real host) is emptied, and the
 * kernel reports another boot id (through the POCKER_TEST_BOOT_ID hook). The data dir, the spec
 * dir and the CNI plugins' files on disk stay, as on a real disk.
 */
export async function simulateReboot(inst: TestInstance): Promise<void> {
  for (const pid of instanceProcesses(inst.dirs)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* exited meanwhile */
    }
  }
  await until(() => instanceProcesses(inst.dirs).length === 0, 'every process of the instance gone');
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && m.startsWith(`${inst.root}/`));
  for (const m of mounts.sort().reverse()) spawnSync('umount', ['-l', m]);
  for (const d of instanceCgroups(inst.dirs.cgroupParent)) {
    try {
      rmdirSync(d);
    } catch {
      /* the parent of a dir not yet removed; retried below */
    }
  }
  for (const d of instanceCgroups(inst.dirs.cgroupParent)) if (existsSync(d)) rmdirSync(d);
  if (existsSync(inst.dirs.stateDir))
    for (const e of readdirSync(inst.dirs.stateDir)) rmSync(`${inst.dirs.stateDir}/${e}`, { recursive: true, force: true });
  process.env.POCKER_TEST_BOOT_ID = randomUUID();
}

/** Forgets a simulated reboot's boot id (after each test). */
export function restoreBootId(): void {
  delete process.env.POCKER_TEST_BOOT_ID;
}
