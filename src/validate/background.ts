/**
 * The validator run inside the daemon for the web console: the same checks as `cubby validate`,
 * through the same public API on the daemon's own listener, signed with one of the tenant's
 * access keys, so it sees and may do exactly what that tenant may. The daemon wires it into the
 * console (src/api/console), which keeps the job and its report.
 */
import { LambdaMicrovmsClient } from '@aws-sdk/client-lambda-microvms';
import { DEFAULT_PATTERN } from '../core/usage/pattern.js';
import { Session, type ValidateOptions } from './session.js';
import { runValidation } from './runner.js';
import type { CheckResult, ValidationReport } from './types.js';

export interface BackgroundValidation {
  /** The API listener as reached from this host (plain HTTP: the validator's clients speak it). */
  apiUrl: string;
  accessKeyId: string;
  secretAccessKey: string;
  image: string;
  version: string;
  launches: number;
  port: number;
  path: string;
  crashWaitSeconds: number;
  only?: string[];
}

export interface BackgroundRun {
  report: Promise<ValidationReport>;
  /** Stops launching and terminates what the run launched (the daemon is shutting down). */
  stop(): Promise<void>;
}

export function startBackgroundValidation(
  r: BackgroundValidation,
  hooks: { onStart?: (title: string) => void; onCheck?: (c: CheckResult) => void },
): BackgroundRun {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new LambdaMicrovmsClient({
    endpoint: r.apiUrl,
    region: 'local',
    maxAttempts: 2,
    credentials: { accessKeyId: r.accessKeyId, secretAccessKey: r.secretAccessKey },
  });
  const opts: ValidateOptions = {
    image: r.image,
    version: r.version,
    launches: r.launches,
    pattern: DEFAULT_PATTERN,
    rebuild: false,
    buildTimeoutSeconds: 1800,
    path: r.path,
    port: r.port,
    crashWaitSeconds: r.crashWaitSeconds,
    ...(r.only ? { only: r.only } : {}),
  };
  const session = new Session(client, opts, r.apiUrl);
  const report = runValidation(session, hooks).finally(() => client.destroy());
  return { report, stop: () => session.stop() };
}
