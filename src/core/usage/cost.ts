/** Cost arithmetic: RUNNING pays baseline vCPU + memory per second, SUSPENDED pays snapshot storage. */
import { GIB, SECONDS_PER_MONTH } from './prices.js';
import type { UsageCost, UsagePrices } from './types.js';

export interface Sizing {
  vcpus: number;
  memoryMiB: number;
  /** Snapshot size storage is charged at. */
  snapshotBytes: number;
}

export interface MeteredTime {
  runningSeconds: number;
  suspendedSeconds: number;
}

export const ZERO_COST: Readonly<UsageCost> = Object.freeze({ vcpu: 0, memory: 0, storage: 0, total: 0 });

export function costOf(t: MeteredTime, s: Sizing, p: UsagePrices): UsageCost {
  const vcpu = t.runningSeconds * s.vcpus * p.vcpuSecond;
  const memory = t.runningSeconds * (s.memoryMiB / 1024) * p.gibSecond;
  const storage = (s.snapshotBytes / GIB) * (t.suspendedSeconds / SECONDS_PER_MONTH) * p.snapshotGibMonth;
  return { vcpu, memory, storage, total: vcpu + memory + storage };
}

export function addCosts(a: UsageCost, b: UsageCost): UsageCost {
  return { vcpu: a.vcpu + b.vcpu, memory: a.memory + b.memory, storage: a.storage + b.storage, total: a.total + b.total };
}

/** How a microVM spends a day: active and idle are both RUNNING (billed alike), suspended is on disk. */
export interface DayPattern {
  activeSeconds: number;
  idleSeconds: number;
  suspendedSeconds: number;
}

export interface PatternCost {
  pattern: DayPattern;
  running: UsageCost;
  idle: UsageCost;
  suspended: UsageCost;
  total: number;
  /** What the same day would cost RUNNING all the time (no suspend), for comparison. */
  alwaysRunning: number;
}

export function patternCost(d: DayPattern, s: Sizing, p: UsagePrices): PatternCost {
  const running = costOf({ runningSeconds: d.activeSeconds, suspendedSeconds: 0 }, s, p);
  const idle = costOf({ runningSeconds: d.idleSeconds, suspendedSeconds: 0 }, s, p);
  const suspended = costOf({ runningSeconds: 0, suspendedSeconds: d.suspendedSeconds }, s, p);
  const all = d.activeSeconds + d.idleSeconds + d.suspendedSeconds;
  return {
    pattern: d,
    running,
    idle,
    suspended,
    total: running.total + idle.total + suspended.total,
    alwaysRunning: costOf({ runningSeconds: all, suspendedSeconds: 0 }, s, p).total,
  };
}
