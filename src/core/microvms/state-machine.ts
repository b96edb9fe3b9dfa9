/**
 * The microVM state machine. Every lifecycle action names the states it may start from; the
 * store's compare-and-set (transitionMicrovm) enforces them, so a racing action or a crash
 * never leaves a microVM in a state the table does not allow.
 *
 *   launch:    PENDING -> RUNNING (or TERMINATED when the launch fails)
 *   suspend:   RUNNING -> SUSPENDING -> SUSPENDED (back to RUNNING when the checkpoint fails)
 *   resume:    SUSPENDED -> PENDING -> RUNNING (back to SUSPENDED when the restore fails)
 *   terminate: PENDING | RUNNING | SUSPENDING | SUSPENDED -> TERMINATING -> TERMINATED
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
} as const satisfies Record<string, readonly MicrovmState[]>;

export const LIVE_STATES: MicrovmState[] = ['PENDING', 'RUNNING', 'SUSPENDING', 'SUSPENDED', 'TERMINATING'];
export const HAS_SANDBOX: MicrovmState[] = ['PENDING', 'RUNNING', 'SUSPENDING'];
