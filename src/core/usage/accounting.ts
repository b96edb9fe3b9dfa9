/**
 * RUNNING / SUSPENDED seconds of one microVM, up to now or within a window. The record holds the
 * seconds accumulated up to its last transition (closed periods, between startedAt and
 * stateChangedAt) plus an open period since stateChangedAt; only that open period has exact
 * bounds, so a window that cuts through the closed span prorates it evenly.
 */
import type { Microvm } from '../model.js';
import type { UsageWindow } from './types.js';

export interface MeteredSeconds {
  runningSeconds: number;
  suspendedSeconds: number;
  prorated: boolean;
}

type Metered = Pick<
  Microvm,
  'state' | 'startedAt' | 'terminatedAt' | 'stateChangedAt' | 'suspendedAt' | 'runningSeconds' | 'suspendedSeconds'
>;

/** Seconds of [a0, a1] that fall inside [b0, b1]. */
export function overlapSeconds(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, (Math.min(a1, b1) - Math.max(a0, b0)) / 1000);
}

/** When the current state began (older records may lack stateChangedAt). */
function openSince(m: Metered): Date {
  return m.stateChangedAt ?? m.suspendedAt ?? m.startedAt;
}

/** Whether the microVM existed at some time in the window. */
export function overlapsWindow(m: Metered, now: Date, w: UsageWindow = {}): boolean {
  const end = (m.terminatedAt ?? now).getTime();
  const from = w.from?.getTime() ?? -Infinity;
  const to = (w.to ?? now).getTime();
  return m.startedAt.getTime() <= to && end >= from;
}

export function meteredSeconds(m: Metered, now: Date, w: UsageWindow = {}): MeteredSeconds {
  const from = w.from?.getTime() ?? -Infinity;
  const to = Math.min((w.to ?? now).getTime(), now.getTime());
  const since = openSince(m).getTime();

  // Closed periods: known only as totals over [startedAt, since].
  const start = m.startedAt.getTime();
  let share = 1;
  if (since > start) share = overlapSeconds(start, since, from, to) / ((since - start) / 1000);
  else share = start >= from && start <= to ? 1 : 0;
  let running = m.runningSeconds * share;
  let suspended = m.suspendedSeconds * share;

  // The open period is metered only in the two billed states.
  const open = overlapSeconds(since, now.getTime(), from, to);
  if (m.state === 'RUNNING') running += open;
  else if (m.state === 'SUSPENDED') suspended += open;

  const prorated = share > 0 && share < 1 && (m.runningSeconds > 0 || m.suspendedSeconds > 0);
  return { runningSeconds: running, suspendedSeconds: suspended, prorated };
}
