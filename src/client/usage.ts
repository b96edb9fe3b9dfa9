/** The usage extension routes as the CLI and the validator read them (signed like every API call). */
import type { LambdaMicrovmsClient } from '@aws-sdk/client-lambda-microvms';
import { cubbyExtension } from './extension.js';
import type { MicrovmStats, UsageReport } from '../core/usage/types.js';

/** A JSON round trip turns Dates into ISO strings. */
export type Wire<T> = T extends Date
  ? string
  : T extends Array<infer U>
    ? Array<Wire<U>>
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

export interface UsageRequest {
  from?: string;
  to?: string;
  prices?: string;
}

export async function fetchUsage(q: UsageRequest = {}, client?: LambdaMicrovmsClient): Promise<Wire<UsageReport>> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v) params.set(k, v);
  const qs = params.toString();
  return JSON.parse(await cubbyExtension('GET', `/cubby/v1/usage${qs ? `?${qs}` : ''}`, client)) as Wire<UsageReport>;
}

export async function fetchStats(id: string, client?: LambdaMicrovmsClient): Promise<Wire<MicrovmStats>> {
  return JSON.parse(await cubbyExtension('GET', `/cubby/v1/microvms/${encodeURIComponent(id)}/stats`, client)) as Wire<MicrovmStats>;
}
