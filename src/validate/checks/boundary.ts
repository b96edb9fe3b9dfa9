/**
 * Check d: the tenant boundary, probed from inside the user's image through the API's shell.
 * The validator plants host-only things (a /tmp path, a marked process, a listener) and the
 * microVM, launched with egress closed, must see and reach none of them, nor the API and
 * gateway ports on its host-side address, nor an outside target.
 */
import { endpointTarget } from '../../client/endpoint.js';
import type { Session } from '../session.js';
import type { Probe } from '../types.js';
import { boundaryScript, parseBoundaryOutput, type BoundaryFindings } from '../boundary-script.js';
import { hostAddresses, plantHostFixtures, reachableFromHost } from '../host-fixtures.js';
import { runShellScript } from '../shell-client.js';

const SHELL_TIMEOUT_MS = 60_000;

function splitTarget(t: string): { host: string; port: number } {
  const i = t.lastIndexOf(':');
  return { host: t.slice(0, i), port: Number(t.slice(i + 1)) };
}

function apiPort(u: URL): number {
  return u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
}

function networkProbes(f: BoundaryFindings, accepted: number, listenerPort: number): Probe[] {
  if (f.tool === 'none') {
    return [{ name: 'host network', status: 'N.A.', detail: 'not testable in this image (needs timeout plus bash or nc)' }];
  }
  const open = f.net.filter((n) => n.open).map((n) => n.target);
  const tried = f.net.map((n) => n.target);
  const gw = f.gateway && f.gateway !== 'none' ? `gateway ${f.gateway}` : 'no default gateway';
  if (open.length > 0 || accepted > 0) {
    return [
      {
        name: 'host network',
        status: 'FAIL',
        detail: `reached the host: ${open.join(', ') || `${accepted} connection(s) to the validator's listener on port ${listenerPort}`}`,
      },
    ];
  }
  return [
    {
      name: 'host network',
      status: 'PASS',
      detail: `${tried.length} host address:port pairs unreachable (${gw}; API, gateway and a test listener port; via ${f.tool})`,
    },
  ];
}

function egressProbe(f: BoundaryFindings, target: string | undefined, skipped: string | undefined): Probe {
  if (skipped) return { name: 'egress closed', status: 'N.A.', detail: skipped };
  if (f.tool === 'none')
    return { name: 'egress closed', status: 'N.A.', detail: 'not testable in this image (needs timeout plus bash or nc)' };
  const e = f.egress[0];
  if (!e) return { name: 'egress closed', status: 'FAIL', detail: 'the egress probe printed nothing' };
  return e.open
    ? { name: 'egress closed', status: 'FAIL', detail: `reached ${target} although launched with egress closed` }
    : {
        name: 'egress closed',
        status: 'PASS',
        detail: `${target} (reachable from the host) is unreachable from a microVM launched with egress closed`,
      };
}

export async function checkBoundary(s: Session): Promise<{ probes: Probe[]; data: Record<string, unknown> }> {
  const fx = await plantHostFixtures();
  try {
    let egressTarget: string | undefined;
    let egressSkipped: string | undefined;
    if (!s.opts.egressTarget) {
      egressSkipped = 'no --egress-target given';
    } else {
      const t = splitTarget(s.opts.egressTarget);
      if (await reachableFromHost(t.host, t.port)) egressTarget = s.opts.egressTarget;
      else
        egressSkipped = `${s.opts.egressTarget} is not reachable from this host either, so it proves nothing (pass a reachable --egress-target)`;
    }
    // Closed egress whatever the image says: this probes Cubby's enforcement of the default.
    const m = await s.launch({ egressNetworkConnectors: [] });
    try {
      const gwPort = endpointTarget(m.endpoint).port;
      const ports = [...new Set([fx.listenerPort, apiPort(s.apiEndpoint), gwPort])];
      const hostTargets = hostAddresses().flatMap((a) => ports.map((p) => `${a}:${p}`));
      const script = boundaryScript({
        marker: fx.marker,
        hostPath: fx.hostPath,
        gatewayPorts: ports,
        hostTargets,
        ...(egressTarget ? { egressTarget } : {}),
      });
      const run = await runShellScript(m.endpoint, await s.shellToken(m.id), script, SHELL_TIMEOUT_MS);
      const f = parseBoundaryOutput(run.output);
      if (!f.complete) {
        throw new Error(
          `the probe script did not finish through the shell${run.timedOut ? ' (timed out)' : ''}: ${run.output.slice(-500)}`,
        );
      }
      const probes: Probe[] = [];
      const procs = f.processes;
      probes.push(
        procs?.markerSeen
          ? { name: 'processes', status: 'FAIL', detail: "a host process (the validator's marked one) is visible in /proc" }
          : {
              name: 'processes',
              status: 'PASS',
              detail: `sees only its own ${procs?.count ?? 0} processes (${[...new Set(procs?.names ?? [])].join(', ')}); the host's are not visible`,
            },
      );
      probes.push(
        f.hostFileSeen
          ? { name: 'host files', status: 'FAIL', detail: `${fx.hostPath} (created on the host) is visible inside` }
          : { name: 'host files', status: 'PASS', detail: `${fx.hostPath} (created on the host) is not visible inside` },
      );
      probes.push(...networkProbes(f, fx.accepted(), fx.listenerPort));
      probes.push(egressProbe(f, egressTarget, egressSkipped));
      return { probes, data: { microvmId: m.id, findings: f, listenerAccepted: fx.accepted(), hostPath: fx.hostPath } };
    } finally {
      await s.terminate(m.id).catch(() => undefined);
    }
  } finally {
    await fx.close();
  }
}
