/** Hook settings defaults and limits (the model's numbers). */
import type { HookName, HookSettings } from './model.js';

export const DEFAULT_HOOK_PORT = 9000;
const DEFAULT_SECONDS: Record<HookName, number> = { ready: 30, validate: 30, run: 10, resume: 10, suspend: 10, terminate: 10 };
export const HOOK_TIMEOUT_RANGE: Record<HookName, [number, number]> = {
  ready: [1, 3600], validate: [1, 3600], run: [1, 60], resume: [1, 60], suspend: [1, 60], terminate: [1, 60],
};

export function hookTimeoutMs(h: HookSettings, name: HookName): number {
  return (h.timeouts[name] ?? DEFAULT_SECONDS[name]) * 1000;
}

export function defaultHooks(): HookSettings {
  return { port: DEFAULT_HOOK_PORT, enabled: {}, timeouts: {} };
}
