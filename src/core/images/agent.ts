/**
 * Images that ask for Cubby's in-sandbox agent (ImageSettings.agent): the agent binary is bind
 * mounted read-only at AGENT_PATH (never copied into the image) and started as the sandbox's first
 * process, with the image's ENTRYPOINT+CMD (if any) as its child. Processes the agent starts later
 * (commands, terminals) are its children too, so they are in the snapshot and survive a suspend.
 */
import type { ReadOnlyMount } from '../ports/runtime.js';

export const AGENT_PATH = '/.cubby/bin/cubby-agent';
export const AGENT_PORT = 49983;

/** Managed bases that have E2B's `user` account; on any other base, calls without a user act as root. */
const BASES_WITH_USER = new Set(['debian-12-e2b']);

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
