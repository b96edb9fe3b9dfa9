/**
 * The core's side of the gateway, scripted: which microVMs exist, in which state, and what a
 * resume does. The gateway under test is real; only the core behind its interface is played.
 */
import type { ActivityKind, GatewayTargets, ShellProcess, TargetInfo } from '../../../src/gateway/targets.js';

export class FakeTargets implements GatewayTargets {
  readonly infos = new Map<string, TargetInfo>();
  readonly ensureCalls: string[] = [];
  readonly events: Array<{ id: string; kind: ActivityKind; at: number }> = [];
  /** What a resume does; the default marks the microVM RUNNING after 200 ms. */
  resume: (id: string) => Promise<{ address: string }> = async (id) => {
    await new Promise((r) => setTimeout(r, 200));
    const info = this.infos.get(id);
    if (!info) throw new Error('gone');
    info.state = 'RUNNING';
    return { address: info.address };
  };
  shell: (id: string, size: { cols: number; rows: number }) => Promise<ShellProcess> = async () => {
    throw new Error('no shell in this test');
  };

  add(id: string, info: Partial<TargetInfo> = {}): TargetInfo {
    const full: TargetInfo = { address: '127.0.0.1', state: 'RUNNING', autoResume: true, tenantId: 't1', ...info };
    this.infos.set(id, full);
    return full;
  }

  async resolve(id: string): Promise<TargetInfo | undefined> {
    const info = this.infos.get(id);
    return info ? { ...info } : undefined;
  }

  ensureRunning(id: string): Promise<{ address: string }> {
    this.ensureCalls.push(id);
    return this.resume(id);
  }

  activity(id: string, kind: ActivityKind): void {
    this.events.push({ id, kind, at: Date.now() });
  }

  openShell(id: string, size: { cols: number; rows: number }): Promise<ShellProcess> {
    return this.shell(id, size);
  }

  /** Open exchanges (requests, WebSockets) the idle policy would see for this microVM now. */
  busy(id: string): number {
    let n = 0;
    for (const e of this.events) {
      if (e.id !== id) continue;
      if (e.kind === 'request-start' || e.kind === 'ws-open') n += 1;
      else n -= 1;
    }
    return n;
  }
}
