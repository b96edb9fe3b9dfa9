/**
 * The wire's hooks (port, microvmHooks.{run,resume,suspend,terminate}, microvmImageHooks.{ready,
 * validate}, ENABLED/DISABLED and per-hook timeouts) <-> the core's HookSettings. Members the
 * caller leaves out stay out, so the core applies its own defaults.
 */
import type { HookName, HookSettings } from '../../../core/model.js';
import type { WireHooks } from '../schemas/common.js';

export const DEFAULT_HOOK_PORT = 9000;

type Group = 'microvmHooks' | 'microvmImageHooks';
const HOOKS: ReadonlyArray<readonly [HookName, Group]> = [
  ['run', 'microvmHooks'],
  ['resume', 'microvmHooks'],
  ['suspend', 'microvmHooks'],
  ['terminate', 'microvmHooks'],
  ['ready', 'microvmImageHooks'],
  ['validate', 'microvmImageHooks'],
];

type GroupRecord = Record<string, string | number | undefined>;

export function hooksFromWire(wire: WireHooks | undefined): HookSettings {
  const settings: HookSettings = { port: wire?.port ?? DEFAULT_HOOK_PORT, enabled: {}, timeouts: {} };
  for (const [hook, group] of HOOKS) {
    const g = wire?.[group] as GroupRecord | undefined;
    const state = g?.[hook];
    const timeout = g?.[`${hook}TimeoutInSeconds`];
    if (state !== undefined) settings.enabled[hook] = state === 'ENABLED';
    if (typeof timeout === 'number') settings.timeouts[hook] = timeout;
  }
  return settings;
}

/** undefined when nothing was configured (default port, no hook named). */
export function hooksToWire(settings: HookSettings): WireHooks | undefined {
  const out: Record<string, unknown> = {};
  const groups: Record<Group, GroupRecord> = { microvmHooks: {}, microvmImageHooks: {} };
  for (const [hook, group] of HOOKS) {
    const enabled = settings.enabled[hook];
    const timeout = settings.timeouts[hook];
    if (enabled !== undefined) groups[group][hook] = enabled ? 'ENABLED' : 'DISABLED';
    if (timeout !== undefined) groups[group][`${hook}TimeoutInSeconds`] = timeout;
  }
  for (const group of ['microvmHooks', 'microvmImageHooks'] as const) {
    if (Object.keys(groups[group]).length > 0) out[group] = groups[group];
  }
  if (Object.keys(out).length === 0 && settings.port === DEFAULT_HOOK_PORT) return undefined;
  return { port: settings.port, ...out } as WireHooks;
}
