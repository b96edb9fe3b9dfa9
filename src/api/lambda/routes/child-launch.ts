/**
 * RunMicrovm signed with a microVM's session credentials (its role has `launch`): the image must
 * be one the role names, the child gets no execution role of its own (it could grant more than
 * the parent has), and the parent may have at most `maxChildren` children not TERMINATED. The
 * count and the launch run under one lock per parent, so two racing launches cannot both pass.
 */
import type { Microvm } from '../../../core/model.js';
import type { Caller, CoreServices, RunMicrovmInput } from '../../../core/services.js';
import { PARENT_MEMBER } from '../../../core/roles/service.js';
import { LIVE_STATES } from '../../../core/microvms/state-machine.js';
import { CubbyError } from '../../../errors/index.js';
import { KeyedMutex } from '../../../util/keyed-mutex.js';
import { accessDenied } from '../auth/session-scope.js';

const perParent = new KeyedMutex();

async function liveChildren(core: CoreServices, caller: Caller, parent: string): Promise<number> {
  let n = 0;
  let nextToken: string | undefined;
  do {
    const page = await core.microvms.list(caller, { states: [...LIVE_STATES], maxResults: 100, ...(nextToken ? { nextToken } : {}) });
    n += page.items.filter((m) => m.extra[PARENT_MEMBER] === parent).length;
    nextToken = page.nextToken;
  } while (nextToken);
  return n;
}

export function runAsChild(core: CoreServices, caller: Caller, input: RunMicrovmInput, hasRole: boolean): Promise<Microvm> {
  const session = caller.session;
  if (!session) return core.microvms.run(caller, input);
  const grant = session.role.launch;
  if (!grant || !grant.images.includes(input.image)) throw accessDenied(session, `launching image ${input.image}`);
  if (hasRole) throw accessDenied(session, 'giving a child microVM an execution role');
  return perParent.run(session.microvmId, async () => {
    const live = await liveChildren(core, caller, session.microvmId);
    if (live >= grant.maxChildren) {
      throw new CubbyError(
        'ROLE_ACCESS_DENIED',
        `The execution role ${session.role.name} allows microVM ${session.microvmId} at most ${grant.maxChildren} child microVM(s) at once; it has ${live}.`,
        { details: { role: session.role.name, limit: grant.maxChildren, live } },
      );
    }
    return core.microvms.run(caller, { ...input, extra: { ...input.extra, [PARENT_MEMBER]: session.microvmId } });
  });
}
