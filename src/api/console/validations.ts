/**
 * Validation runs started from the console, kept in the daemon's memory: one running per tenant
 * (and a few on the host, since each launches real microVMs and times them), and the last
 * report per image version, which a restart forgets like the sessions. Watchers get every
 * change as it happens (the page follows a run by server-sent events).
 */
import { CubbyError } from '../../errors/index.js';

/** One check's outcome as the validator reports it (src/validate/types.ts, kept structural here). */
export interface CheckOutcome {
  id: string;
  title: string;
  status: string;
}

export interface ValidationReportLike {
  checks: CheckOutcome[];
  passed: boolean;
}

export interface ValidationParams {
  image: string;
  version: string;
  launches: number;
  port: number;
  path: string;
  crashWaitSeconds: number;
  only?: string[];
}

/** The validator as the daemon wires it in (src/validate/background.ts). */
export type ValidatorPort = (
  run: ValidationParams & { apiUrl: string; accessKeyId: string; secretAccessKey: string },
  hooks: { onStart?: (title: string) => void; onCheck?: (c: CheckOutcome) => void },
) => { report: Promise<ValidationReportLike>; stop(): Promise<void> };

export interface ValidationJob {
  tenantId: string;
  image: string;
  version: string;
  state: 'RUNNING' | 'FINISHED' | 'FAILED';
  params: ValidationParams;
  startedAt: string;
  finishedAt: string | null;
  /** The check running now. */
  current: string | null;
  /** Checks finished so far (the whole list once FINISHED). */
  checks: CheckOutcome[];
  report: ValidationReportLike | null;
  error: string | null;
}

const REMEMBERED = 500;
const HOST_RUNNING = 2;

export class ConsoleValidations {
  private readonly jobs = new Map<string, ValidationJob>();
  private readonly running = new Map<string, { job: ValidationJob; stop(): Promise<void> }>();
  private readonly watchers = new Map<string, Set<(j: ValidationJob) => void>>();

  constructor(private readonly validator: ValidatorPort | undefined) {}

  get available(): boolean {
    return this.validator !== undefined;
  }

  get(tenantId: string, image: string, version: string): ValidationJob | undefined {
    return this.jobs.get(key(tenantId, image, version));
  }

  start(tenantId: string, p: ValidationParams, auth: { apiUrl: string; accessKeyId: string; secretAccessKey: string }): ValidationJob {
    if (!this.validator) throw new CubbyError('CONSOLE_VALIDATE_UNAVAILABLE', 'This daemon runs no validator.');
    const busy = [...this.running.values()].find((r) => r.job.tenantId === tenantId)?.job;
    if (busy) {
      throw new CubbyError(
        'CONSOLE_VALIDATE_BUSY',
        `A validation of ${busy.image} ${busy.version} is running for this tenant; one at a time (it launches and times microVMs).`,
      );
    }
    if (this.running.size >= HOST_RUNNING) {
      throw new CubbyError('CONSOLE_VALIDATE_BUSY', `${this.running.size} validations are running on this host; try again when one ends.`);
    }
    const k = key(tenantId, p.image, p.version);
    const job: ValidationJob = {
      tenantId,
      image: p.image,
      version: p.version,
      state: 'RUNNING',
      params: p,
      startedAt: new Date().toISOString(),
      finishedAt: null,
      current: null,
      checks: [],
      report: null,
      error: null,
    };
    this.remember(k, job);
    const run = this.validator(
      { ...p, ...auth },
      {
        onStart: (title) => {
          job.current = title;
          this.changed(k, job);
        },
        onCheck: (c) => {
          job.checks.push(c);
          job.current = null;
          this.changed(k, job);
        },
      },
    );
    this.running.set(k, { job, stop: run.stop });
    run.report
      .then(
        (report) => {
          job.report = report;
          job.checks = report.checks;
          job.state = 'FINISHED';
        },
        (e: unknown) => {
          job.error = e instanceof Error ? e.message : String(e);
          job.state = 'FAILED';
        },
      )
      .finally(() => {
        job.current = null;
        job.finishedAt = new Date().toISOString();
        this.running.delete(k);
        this.changed(k, job);
      })
      .catch(() => undefined);
    return job;
  }

  /** Calls `fn` with the job on every change until the returned function is called. */
  watch(tenantId: string, image: string, version: string, fn: (j: ValidationJob) => void): () => void {
    const k = key(tenantId, image, version);
    let set = this.watchers.get(k);
    if (!set) this.watchers.set(k, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.watchers.delete(k);
    };
  }

  /** Stops every running validation (the daemon is closing): their microVMs are terminated. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => r.stop().catch(() => undefined)));
  }

  private remember(k: string, job: ValidationJob): void {
    this.jobs.delete(k);
    if (this.jobs.size >= REMEMBERED) {
      const oldest = [...this.jobs].find(([key]) => !this.running.has(key));
      if (oldest) this.jobs.delete(oldest[0]);
    }
    this.jobs.set(k, job);
  }

  private changed(k: string, job: ValidationJob): void {
    for (const fn of this.watchers.get(k) ?? []) fn(job);
  }
}

function key(tenantId: string, image: string, version: string): string {
  return `${tenantId}\n${image}\n${version}`;
}
