/** Longest waits for what pocker does not control, in milliseconds. */
export interface Timeouts {
  /** One CNI plugin run. */
  cniMs: number;
  /** A monitor's report that the workload runs. */
  monitorMs: number;
  /** A container's lock held by another pass. */
  lockMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { cniMs: 30_000, monitorMs: 10_000, lockMs: 120_000 };
