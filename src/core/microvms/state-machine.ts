/**
 * The microVM state machine. Every lifecycle action names the states it may start from; the
 * store's compare-and-set (transitionMicrovm) enforces them, so a racing action or a crash
 * never leaves a microVM in a state the table does not allow.
 *
 *   launch:    PENDING -> RUNNING (or TERMINATED when the launch fails)
 *   suspend:   RUNNING -> SUSPENDING -> SUSPENDED (back to RUNNING when the checkpoint fails)
 *   resume:    SUSPENDED -> PENDING -> RUNNING (back to SUSPENDED when the restore fails)
 *   terminate: PENDING | RUNNING | SUSPENDING | SUSPENDED -> TERMINATING -> TERMINATED
 *   memory tier (idle-tiers.ts; the sandbox stays frozen in memory, no checkpoint):
 *     hold:    RUNNING -> SUSPENDED      thaw: SUSPENDED -> RUNNING
 *     spill:   SUSPENDED -> SUSPENDED (a checkpoint written, the sandbox released: the disk tier)
 */
import type { MicrovmState } from '../model.js';

export const FROM = {
  launchDone: ['PENDING'],
  suspend: ['RUNNING'],
  suspendDone: ['SUSPENDING'],
  resume: ['SUSPENDED'],
  resumeDone: ['PENDING'],
  terminate: ['PENDING', 'RUNNING', 'SUSPENDING', 'SUSPENDED'],
  terminateDone: ['TERMINATING'],
  hold: ['RUNNING'],
  thawDone: ['SUSPENDED'],
  spillDone: ['SUSPENDED'],
} as const satisfies Record<string, readonly MicrovmState[]>;

/** Every state, in lifecycle order. */
export const MICROVM_STATES: readonly MicrovmState[] = ['PENDING', 'RUNNING', 'SUSPENDING', 'SUSPENDED', 'TERMINATING', 'TERMINATED'];
/** Not yet TERMINATED: the microVM still uses its image version (and may hold host resources). */
export const LIVE_STATES: readonly MicrovmState[] = ['PENDING', 'RUNNING', 'SUSPENDING', 'SUSPENDED', 'TERMINATING'];
/** Holding a sandbox (memory): what the host cap and the running quota count; PENDING covers starting and resuming. */
export const HAS_SANDBOX: readonly MicrovmState[] = ['PENDING', 'RUNNING', 'SUSPENDING'];
/** Holding (or writing) a checkpoint: what the suspended quota counts. */
export const HAS_CHECKPOINT: readonly MicrovmState[] = ['SUSPENDING', 'SUSPENDED'];
/** Subject to the policy clock (idle suspend, suspended and maximum-duration deadlines). */
export const POLICY_STATES: readonly MicrovmState[] = ['RUNNING', 'SUSPENDED'];
