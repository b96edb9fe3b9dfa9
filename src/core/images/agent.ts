/**
 * Images that ask for Cubby's in-sandbox agent (ImageSettings.agent): the agent binary is bind
 * mounted read-only at AGENT_PATH (never copied into the image) and started as the sandbox's first
 * process, with the image's ENTRYPOINT+CMD (if any) as its child. Processes the agent starts later
 * (commands, terminals) are its children too, so they are in the snapshot and survive a suspend.
 */
import type { ReadOnlyMount, ResourceLimits } from '../ports/runtime.js';
import { CODE_INTERPRETER_BASE } from './code-interpreter.js';

export const AGENT_PATH = '/.cubby/bin/cubby-agent';
export const AGENT_PORT = 49983;

/** Managed bases that have E2B's `user` account; on any other base, calls without a user act as root. */
const BASES_WITH_USER = new Set(['debian-12-e2b', CODE_INTERPRETER_BASE]);

export function agentDefaultUser(baseImage: string): string {
  return BASES_WITH_USER.has(baseImage) ? 'user' : 'root';
}

/** The argv of a sandbox whose first process is the agent; `app` may be empty (the agent alone). */
export function agentArgs(defaultUser: string, app: string[]): string[] {
  return [AGENT_PATH, '--port', String(AGENT_PORT), '--default-user', defaultUser, ...(app.length ? ['--', ...app] : [])];
}

/** What the agent needs as root: start processes as other users and give them their files. */
export const AGENT_CAPABILITIES = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID'];

export function agentMount(hostBinary: string): ReadOnlyMount {
  return { source: hostBinary, destination: AGENT_PATH };
}

/**
 * Under the agent the sandbox has no address-space limit: Go reserves ~700 MiB of address space
 * at start, more than a small sandbox's default limit (3/4 of its memory), so the agent would not
 * start. Processes started through the agent are bounded by the sandbox's memory limit only.
 */
export function withoutAddressSpace(l: ResourceLimits): ResourceLimits {
  return { ...l, rlimits: { ...l.rlimits, addressSpaceBytes: 0 } };
}
