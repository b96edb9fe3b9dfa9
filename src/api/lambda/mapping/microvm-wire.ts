/**
 * Core microVM records -> the wire's RunMicrovm/GetMicrovm and MicrovmItem shapes. The image is
 * named by ARN, which needs its name: RunMicrovm records it in `extra.imageName`; for microVMs
 * launched elsewhere the route resolves it from the image id (see image-names.ts).
 */
import type { Microvm } from '../../../core/model.js';
import { egressToConnectors } from './egress.js';
import { epochSeconds, optionalEpochSeconds } from './time.js';

/** Members RunMicrovm keeps in `extra` under their wire names. */
export const KEPT_MICROVM_MEMBERS = ['executionRoleArn', 'logging', 'ingressNetworkConnectors', 'egressNetworkConnectors'] as const;

export function microvmItemToWire(m: Microvm, imageArn: string): Record<string, unknown> {
  return {
    microvmId: m.id,
    state: m.state,
    imageArn,
    imageVersion: m.imageVersion,
    startedAt: epochSeconds(m.startedAt),
  };
}

export function microvmToWire(m: Microvm, imageArn: string, endpoint: string): Record<string, unknown> {
  const extra = m.extra ?? {};
  return {
    ...microvmItemToWire(m, imageArn),
    endpoint,
    maximumDurationInSeconds: m.maximumDurationSeconds,
    executionRoleArn: typeof extra.executionRoleArn === 'string' ? extra.executionRoleArn : undefined,
    idlePolicy: m.idlePolicy && {
      maxIdleDurationSeconds: m.idlePolicy.maxIdleDurationSeconds,
      suspendedDurationSeconds: m.idlePolicy.suspendedDurationSeconds,
      autoResumeEnabled: m.idlePolicy.autoResumeEnabled,
      ...(m.idlePolicy.freezeAfterSeconds !== undefined ? { cubbyFreezeAfterSeconds: m.idlePolicy.freezeAfterSeconds } : {}),
    },
    terminatedAt: optionalEpochSeconds(m.terminatedAt),
    stateReason: m.stateReason,
    ingressNetworkConnectors: Array.isArray(extra.ingressNetworkConnectors) ? extra.ingressNetworkConnectors : undefined,
    egressNetworkConnectors: Array.isArray(extra.egressNetworkConnectors) ? extra.egressNetworkConnectors : egressToConnectors(m.egress),
  };
}
