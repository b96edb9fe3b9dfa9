/**
 * Managed templates follow the host's agent. A version's snapshot restores with the agent binary it
 * was taken with (core/images/version-files.ts agentRecordPath), so after an upgrade of Cubby a
 * tenant's `base` would run the old agent forever. When a create finds the template's latest
 * version on another agent than the host's, one new version is built in the background (concurrent
 * creates share the check; the old version serves until the new one is SUCCESSFUL). A refresh is
 * tried at most once per daemon start per tenant, template and host agent: a failed build (its log
 * says why) leaves the old version serving and is not retried in a loop.
 */
import type { Caller, CoreServices } from '../../core/services.js';

export interface AgentRefreshDeps {
  /** Starts a new version of the managed template (from its current Dockerfile); returns its version. */
  rebuild(caller: Caller, core: CoreServices, template: string): Promise<string>;
  log?: { info(fields: object, msg: string): void; warn(fields: object, msg: string): void };
}

export class AgentRefresher {
  /** Checks under way, by tenant and template: concurrent creates share one. */
  private readonly checking = new Map<string, Promise<void>>();
  /** Versions known to carry the host's agent: later creates skip the check. */
  private readonly current = new Set<string>();
  /** Refreshes started (tenant, template, host agent): each at most once per daemon start. */
  private readonly attempted = new Set<string>();

  constructor(private readonly d: AgentRefreshDeps) {}

  /** Never throws and never waits: the check and any rebuild run in the background. */
  check(caller: Caller, core: CoreServices, template: string): void {
    const key = `${caller.tenant.id}\0${template}`;
    if (this.checking.has(key)) return;
    const p = this.run(caller, core, template)
      .catch((e: unknown) =>
        this.d.log?.warn({ tenant: caller.tenant.id, template, err: String(e) }, 'could not refresh the agent of a managed template'),
      )
      .finally(() => this.checking.delete(key));
    this.checking.set(key, p);
  }

  /** Waits for the checks under way (tests). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.checking.values()]);
  }

  private async run(caller: Caller, core: CoreServices, template: string): Promise<void> {
    const tenant = caller.tenant.id;
    const image = await core.images.get(caller, template);
    const latest = image.latestActiveVersion;
    // UPDATING: a new version is building already (a refresh or the owner's update); let it finish.
    if (!latest || image.state === 'UPDATING') return;
    const vkey = `${tenant}\0${template}\0${latest}`;
    if (this.current.has(vkey)) return;
    const agent = await core.images.versionAgent(caller, template, latest);
    if (!agent?.host) return;
    if (agent.current) {
      this.current.add(vkey);
      return;
    }
    const akey = `${tenant}\0${template}\0${agent.host}`;
    if (this.attempted.has(akey)) return;
    this.attempted.add(akey);
    const fields = { tenant, template, version: latest, agent: agent.binary ?? 'unknown (not recorded)', hostAgent: agent.host };
    this.d.log?.info(fields, 'managed template carries another agent than the host: building a new version in the background');
    const version = await this.d.rebuild(caller, core, template);
    this.d.log?.info({ ...fields, newVersion: version }, 'agent refresh of a managed template started');
  }
}
