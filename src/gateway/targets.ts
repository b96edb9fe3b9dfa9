/**
 * What the endpoint gateway needs from the core. The gateway is an adapter: it knows nothing of
 * sandboxes, runtimes or stores, only these calls, which the daemon wires to the core.
 */
import type { ExecHandle } from '../core/ports/runtime.js';

/** The Lambda MicroVMs lifecycle states, as the core reports them. */
export type MicrovmState = 'PENDING' | 'RUNNING' | 'SUSPENDING' | 'SUSPENDED' | 'TERMINATING' | 'TERMINATED';

export interface TargetInfo {
  /** Where the host reaches the microVM's ports: the sandbox address, or 127.0.0.1. */
  address: string;
  state: MicrovmState;
  /** idlePolicy.autoResumeEnabled: inbound traffic may resume a SUSPENDED microVM. */
  autoResume: boolean;
  tenantId: string;
  /**
   * Set for a sandbox created through the E2B front door: its credentials (unsealed) and whether
   * its own ports are public. The gateway enforces them (e2b-access.ts); absent: Cubby tokens only.
   */
  e2b?: { envdAccessToken: string; trafficAccessToken?: string; allowPublicTraffic: boolean };
}

/**
 * Inbound traffic the idle policy must see. Each *-start/open is followed by exactly one
 * matching *-end/close; a microVM with one open is busy (long streams and WebSockets included).
 */
export type ActivityKind = 'request-start' | 'request-end' | 'ws-open' | 'ws-close';

/** A terminal process inside the microVM: the runtime's ExecHandle run with a tty fits as is. */
export type ShellProcess = Pick<ExecHandle, 'stdout' | 'stdin' | 'resize' | 'kill' | 'exit'>;

export interface GatewayTargets {
  /** The microVM's current routing facts, or undefined when no such microVM exists. */
  resolve(microvmId: string): Promise<TargetInfo | undefined>;
  /**
   * Resolves once the microVM is RUNNING and serving: resumes a SUSPENDED (or SUSPENDING) one,
   * waits for a PENDING one. Throws (ideally a CubbyError) when that fails. The gateway calls it
   * at most once at a time per microVM and holds requests meanwhile.
   */
  ensureRunning(microvmId: string): Promise<{ address: string }>;
  /**
   * Whether a RUNNING microVM is frozen in memory (idle): the gateway then calls ensureRunning
   * (a thaw) before forwarding. Synchronous, and asked after the request's activity notice, so
   * the core never freezes a microVM a request is about to reach. Absent: never frozen.
   */
  frozen?(microvmId: string): boolean;
  /** Inbound traffic notice for the idle policy; must not throw or block. */
  activity(microvmId: string, kind: ActivityKind): void;
  /** Starts an interactive shell (a login shell on a tty) in a RUNNING microVM. */
  openShell(microvmId: string, size: { cols: number; rows: number }): Promise<ShellProcess>;
}
