/**
 * The hooks port: how the core talks to the app inside a sandbox. Hooks are HTTP POSTs to
 * `/aws/lambda-microvms/runtime/v1/<hook>` on the image's hook port; an adapter does the HTTP.
 */
import type { HookName } from '../model.js';

export interface HookCall {
  address: string;
  port: number;
  hook: HookName;
  body?: unknown;
  /** Total time allowed. `ready` and `validate` are polled while they answer 503. */
  timeoutMs: number;
}

export interface HookResult {
  status: number;
  body: string;
  elapsedMs: number;
}

export interface HooksPort {
  /**
   * Calls a hook. ready/validate: retried while 503 or not yet listening, until 200 or the
   * timeout. Others: one call (retried only while the port is not yet accepting connections).
   * Throws CubbyError HOOK_FAILED with the reason on timeout or a non-200 final answer.
   */
  call(c: HookCall): Promise<HookResult>;
  /** Waits until something accepts TCP connections on address:port (apps without a ready hook). */
  waitForPort(address: string, port: number, timeoutMs: number): Promise<void>;
}
