/** Hook settings defaults and limits (the model's numbers), and the one way the core calls a hook. */
import type { HookName, HookSettings } from './model.js';
import type { HookResult, HooksPort } from './ports/hooks.js';

export const DEFAULT_HOOK_PORT = 9000;
const DEFAULT_SECONDS: Record<HookName, number> = { ready: 30, validate: 30, run: 10, resume: 10, suspend: 10, terminate: 10 };
export const HOOK_TIMEOUT_RANGE: Record<HookName, [number, number]> = {
  ready: [1, 3600],
  validate: [1, 3600],
  run: [1, 60],
  resume: [1, 60],
  suspend: [1, 60],
  terminate: [1, 60],
};

export function hookTimeoutMs(h: HookSettings, name: HookName): number {
  return (h.timeouts[name] ?? DEFAULT_SECONDS[name]) * 1000;
}

export function defaultHooks(): HookSettings {
  return { port: DEFAULT_HOOK_PORT, enabled: {}, timeouts: {} };
}

/** Calls one of the image's hooks on its hook port, with the timeout its settings give it. */
export function callHook(port: HooksPort, h: HookSettings, hook: HookName, address: string, body?: unknown): Promise<HookResult> {
  return port.call({ address, port: h.port, hook, timeoutMs: hookTimeoutMs(h, hook), ...(body === undefined ? {} : { body }) });
}

/**
 * Calls the hook only when the image enables it. The address is asked for only then, and a
 * sandbox without one (not running) is not called. True when the hook was called.
 */
export async function callHookIfEnabled(
  port: HooksPort,
  h: HookSettings | undefined,
  hook: HookName,
  address: string | (() => Promise<string | undefined>),
  body?: unknown,
): Promise<boolean> {
  if (!h?.enabled[hook]) return false;
  const addr = typeof address === 'string' ? address : await address();
  if (!addr) return false;
  await callHook(port, h, hook, addr, body);
  return true;
}
