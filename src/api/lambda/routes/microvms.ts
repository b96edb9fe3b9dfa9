/** RunMicrovm, GetMicrovm, ListMicrovms, SuspendMicrovm, ResumeMicrovm, TerminateMicrovm. */
import type { FastifyInstance } from 'fastify';
import type { RunMicrovmInput } from '../../../core/services.js';
import type { AddressPolicy } from '../../../util/address-policy.js';
import { connectorsToEgress } from '../mapping/egress.js';
import { ImageNames } from '../mapping/image-names.js';
import { KEPT_MICROVM_MEMBERS, microvmItemToWire, microvmToWire } from '../mapping/microvm-wire.js';
import { Empty } from '../schemas/images.js';
import { ListMicrovmsQuery, MicrovmPath, RunMicrovmBody } from '../schemas/microvms.js';
import { parseInput } from '../validate.js';
import { EXECUTION_ROLE_MEMBER } from '../../../core/roles/service.js';
import { executionRoleName } from '../mapping/roles.js';
import { runAsChild } from './child-launch.js';
import { bodyOf, pageOf, type RouteDeps } from './deps.js';

const BASE = '/2025-09-09/microvms';

function runInput(body: RunMicrovmBody, image: string, addresses: AddressPolicy): RunMicrovmInput {
  const extra: Record<string, unknown> = { imageName: image };
  for (const key of KEPT_MICROVM_MEMBERS) {
    if (body[key] !== undefined) extra[key] = body[key];
  }
  const input: RunMicrovmInput = { image, extra };
  if (body.imageVersion !== undefined) input.version = body.imageVersion;
  if (body.idlePolicy !== undefined) {
    const { cubbyFreezeAfterSeconds, ...policy } = body.idlePolicy;
    input.idlePolicy = { ...policy, ...(cubbyFreezeAfterSeconds !== undefined ? { freezeAfterSeconds: cubbyFreezeAfterSeconds } : {}) };
  }
  if (body.maximumDurationInSeconds !== undefined) input.maximumDurationSeconds = body.maximumDurationInSeconds;
  if (body.runHookPayload !== undefined) input.runHookPayload = body.runHookPayload;
  // Absent: the image's egress applies. Present (even empty): it replaces the image's.
  if (body.egressNetworkConnectors !== undefined) input.egress = connectorsToEgress(body.egressNetworkConnectors, addresses);
  if (body.clientToken !== undefined) input.clientToken = body.clientToken;
  return input;
}

export function registerMicrovmRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { core, arns } = deps;

  app.post(BASE, async (req) => {
    const { caller } = deps.context(req);
    const body = parseInput(RunMicrovmBody, bodyOf(req), 'body');
    const name = arns.imageName(caller, body.imageIdentifier);
    const input = runInput(body, name, deps.addresses);
    // An unknown or foreign role is a ValidationException, before anything is made.
    if (body.executionRoleArn !== undefined && !caller.session) {
      input.extra = { ...input.extra, [EXECUTION_ROLE_MEMBER]: await executionRoleName(core, caller, body.executionRoleArn) };
    }
    const m = await runAsChild(core, caller, input, body.executionRoleArn !== undefined);
    return microvmToWire(m, arns.image(caller.tenant.accountId, name), deps.endpointFor(m.id));
  });

  app.get(`${BASE}/:microvmIdentifier`, async (req) => {
    const { caller } = deps.context(req);
    const { microvmIdentifier } = parseInput(MicrovmPath, req.params, 'path');
    const m = await core.microvms.get(caller, arns.microvmId(caller, microvmIdentifier));
    const name = await new ImageNames(core.images, caller).nameOf(m);
    return microvmToWire(m, arns.image(caller.tenant.accountId, name), deps.endpointFor(m.id));
  });

  app.get(BASE, async (req) => {
    const { caller, query } = deps.context(req);
    const q = parseInput(ListMicrovmsQuery, query, 'query');
    const filter = {
      ...pageOf(q),
      ...(q.imageIdentifier !== undefined ? { image: arns.imageName(caller, q.imageIdentifier) } : {}),
      ...(q.imageVersion !== undefined ? { version: q.imageVersion } : {}),
    };
    const page = await core.microvms.list(caller, filter);
    const names = new ImageNames(core.images, caller);
    const items = [];
    for (const m of page.items) items.push(microvmItemToWire(m, arns.image(caller.tenant.accountId, await names.nameOf(m))));
    return { items, nextToken: page.nextToken };
  });

  const transition = (verb: 'suspend' | 'resume') => async (req: Parameters<typeof deps.context>[0]) => {
    const { caller } = deps.context(req);
    const { microvmIdentifier } = parseInput(MicrovmPath, req.params, 'path');
    parseInput(Empty, bodyOf(req), 'body');
    await core.microvms[verb](caller, arns.microvmId(caller, microvmIdentifier));
    return {};
  };
  app.post(`${BASE}/:microvmIdentifier/suspend`, transition('suspend'));
  app.post(`${BASE}/:microvmIdentifier/resume`, transition('resume'));

  app.delete(`${BASE}/:microvmIdentifier`, async (req) => {
    const { caller } = deps.context(req);
    const { microvmIdentifier } = parseInput(MicrovmPath, req.params, 'path');
    parseInput(Empty, bodyOf(req), 'body');
    await core.microvms.terminate(caller, arns.microvmId(caller, microvmIdentifier));
    return {};
  });
}
