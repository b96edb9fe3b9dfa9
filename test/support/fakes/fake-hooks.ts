/**
 * The hooks port without HTTP: a hook "answers" 200 when a running sandbox of the fake host has
 * that address (so a hook sent to a destroyed or paused sandbox fails as it would for real),
 * unless a fault is injected (op names: the hook name, e.g. 'run', and 'waitForPort'). Every
 * call is recorded. Test-only.
 */
import type { HookCall, HookResult, HooksPort } from '../../../src/core/ports/hooks.js';
import { CubbyError } from '../../../src/errors/index.js';
import { Faults } from './faults.js';
import type { FakeHost } from './fake-runtime.js';

const POLLED = new Set(['ready', 'validate']);

/** A scripted app at address:port: answers these statuses in turn (the last one repeats). */
interface ScriptedApp {
  statuses: number[];
  received: HookCall[];
}

export class FakeHooks implements HooksPort {
  readonly faults = new Faults();
  readonly calls: HookCall[] = [];
  private readonly apps = new Map<string, ScriptedApp>();

  /** Scripts an app's hook answers at address:port (as the HTTP adapter would meet them); returns what it receives. */
  serve(address: string, port: number, statuses: number[]): HookCall[] {
    const app: ScriptedApp = { statuses: [...statuses], received: [] };
    this.apps.set(`${address}:${port}`, app);
    return app.received;
  }

  /** Like the HTTP adapter: ready/validate are polled while 503; any other final answer than 200 fails. */
  private async answer(app: ScriptedApp, c: HookCall): Promise<HookResult> {
    const started = Date.now();
    for (;;) {
      app.received.push(c);
      const status = app.statuses.length > 1 ? (app.statuses.shift() ?? 200) : (app.statuses[0] ?? 200);
      if (status === 200) return { status, body: '', elapsedMs: Date.now() - started };
      if (!(POLLED.has(c.hook) && status === 503) || Date.now() - started >= c.timeoutMs) {
        throw new CubbyError('HOOK_FAILED', `${c.hook} hook on port ${c.port} answered ${status}`, { details: { hook: c.hook } });
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Without a host every address answers. */
  constructor(private readonly host?: FakeHost) {}

  private reachable(address: string): boolean {
    if (!this.host) return true;
    return [...this.host.sandboxes.values()].some((s) => s.address === address && s.state === 'running');
  }

  call(c: HookCall): Promise<HookResult> {
    return this.faults.run(c.hook, c, () => {
      this.calls.push(c);
      const app = this.apps.get(`${c.address}:${c.port}`);
      if (app) return this.answer(app, c);
      if (this.apps.size && !this.host)
        throw new CubbyError('HOOK_FAILED', `${c.hook} hook on port ${c.port} did not answer within ${c.timeoutMs / 1000} s`);
      if (!this.reachable(c.address)) throw new CubbyError('HOOK_FAILED', `${c.hook} hook: nothing answers at ${c.address}:${c.port}`);
      return { status: 200, body: '', elapsedMs: 1 };
    });
  }

  waitForPort(address: string, port: number, timeoutMs: number): Promise<void> {
    return this.faults.run('waitForPort', { address, port }, () => {
      if (this.apps.size && !this.host && !this.apps.has(`${address}:${port}`))
        throw new CubbyError('APP_NOT_READY', `nothing accepted connections on port ${port} within ${timeoutMs / 1000} s`);
      if (!this.reachable(address))
        throw new CubbyError('APP_NOT_READY', `nothing accepted connections on ${address}:${port} within ${timeoutMs} ms`);
    });
  }

  /** Names of the hooks called, in order. */
  names(): string[] {
    return this.calls.map((c) => c.hook);
  }
}
