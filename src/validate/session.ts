/**
 * What the checks share: the API client, the image under test, and a record of every microVM
 * the validator launched so all of them are terminated at the end, whatever happened.
 */
import {
  CreateMicrovmAuthTokenCommand,
  CreateMicrovmShellAuthTokenCommand,
  GetMicrovmCommand,
  ListMicrovmsCommand,
  RunMicrovmCommand,
  TerminateMicrovmCommand,
  type GetMicrovmCommandOutput,
  type LambdaMicrovmsClient,
  type MicrovmItem,
  type RunMicrovmRequest,
} from '@aws-sdk/client-lambda-microvms';
import { AUTH_HEADER } from './endpoint-http.js';

export interface ValidateOptions {
  image: string;
  /** One version to launch and time (the web console's run); default the latest active one. */
  version?: string;
  launches: number;
  pattern: string;
  prices?: string;
  rebuild: boolean;
  buildTimeoutSeconds: number;
  path: string;
  port: number;
  /** "host:port" reachable from this host but not from a closed microVM; undefined = not tested. */
  egressTarget?: string;
  /** How long a killed app is watched for a state change. */
  crashWaitSeconds: number;
  only?: string[];
}

export type Microvm = GetMicrovmCommandOutput;

export class Session {
  /** Ids of every microVM this run launched. */
  readonly launched = new Set<string>();
  readonly apiEndpoint: URL;
  /** Set when the run is stopped (the daemon shuts down): no further launches. */
  private stopped = false;

  constructor(
    readonly client: LambdaMicrovmsClient,
    readonly opts: ValidateOptions,
    apiEndpoint: string,
  ) {
    this.apiEndpoint = new URL(apiEndpoint);
  }

  async launch(extra: Omit<RunMicrovmRequest, 'imageIdentifier'> = {}): Promise<{ id: string; endpoint: string; state: string }> {
    if (this.stopped) throw new Error('the validation was stopped');
    const version = this.opts.version ? { imageVersion: this.opts.version } : {};
    const r = await this.client.send(new RunMicrovmCommand({ imageIdentifier: this.opts.image, ...version, ...extra }));
    if (!r.microvmId) throw new Error('RunMicrovm answered without a microvmId');
    this.launched.add(r.microvmId);
    return { id: r.microvmId, endpoint: r.endpoint ?? '', state: r.state ?? '' };
  }

  /** Stops the run: no more launches, and every launched microVM is terminated. */
  async stop(timeoutMs = 20_000): Promise<void> {
    this.stopped = true;
    await this.terminateAll(timeoutMs);
  }

  get(id: string): Promise<Microvm> {
    return this.client.send(new GetMicrovmCommand({ microvmIdentifier: id }));
  }

  async token(id: string, minutes = 15): Promise<string> {
    const r = await this.client.send(
      new CreateMicrovmAuthTokenCommand({ microvmIdentifier: id, expirationInMinutes: minutes, allowedPorts: [{ port: this.opts.port }] }),
    );
    const t = r.authToken?.[AUTH_HEADER];
    if (!t) throw new Error('CreateMicrovmAuthToken answered without a token');
    return t;
  }

  async shellToken(id: string): Promise<string> {
    const r = await this.client.send(new CreateMicrovmShellAuthTokenCommand({ microvmIdentifier: id, expirationInMinutes: 5 }));
    const t = r.authToken?.[AUTH_HEADER];
    if (!t) throw new Error('CreateMicrovmShellAuthToken answered without a token');
    return t;
  }

  /** Polls GetMicrovm until one of `states`; returns the record and every state seen on the way. */
  async waitForState(
    id: string,
    states: string[],
    timeoutMs: number,
    pollMs = 100,
  ): Promise<{ m: Microvm; seen: string[]; reached: boolean }> {
    const deadline = Date.now() + timeoutMs;
    const seen: string[] = [];
    for (;;) {
      const m = await this.get(id);
      const s = m.state ?? '';
      if (seen.at(-1) !== s) seen.push(s);
      if (states.includes(s)) return { m, seen, reached: true };
      if (Date.now() >= deadline) return { m, seen, reached: false };
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  async terminate(id: string): Promise<void> {
    await this.client.send(new TerminateMicrovmCommand({ microvmIdentifier: id }));
  }

  async listAll(): Promise<MicrovmItem[]> {
    const items: MicrovmItem[] = [];
    let nextToken: string | undefined;
    do {
      const r = await this.client.send(new ListMicrovmsCommand({ nextToken }));
      items.push(...(r.items ?? []));
      nextToken = r.nextToken;
    } while (nextToken);
    return items;
  }

  /**
   * Terminates every launched microVM that is not TERMINATED and waits for them; returns how many
   * it terminated and those still not TERMINATED afterwards (per ListMicrovms).
   */
  async terminateAll(timeoutMs = 60_000): Promise<{ terminated: number; leftOver: string[] }> {
    const listed = await this.listAll().catch(() => undefined);
    const state = new Map((listed ?? []).map((m) => [m.microvmId, m.state]));
    // A launched id the list does not show (or a failed list) is terminated too, to be sure.
    const ids = [...this.launched].filter((id) => state.get(id) !== 'TERMINATED');
    await Promise.all(ids.map((id) => this.terminate(id).catch(() => undefined)));
    await Promise.all(ids.map((id) => this.waitForState(id, ['TERMINATED'], timeoutMs, 250).catch(() => undefined)));
    const after = await this.listAll().catch(() => undefined);
    const leftOver = after
      ? after
          .filter((m) => m.microvmId && this.launched.has(m.microvmId) && m.state !== 'TERMINATED')
          .map((m) => `${m.microvmId} (${m.state})`)
      : ['(ListMicrovms failed: cannot confirm)'];
    return { terminated: ids.length, leftOver };
  }
}
