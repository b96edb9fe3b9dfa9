/** The in-memory MicrovmsService, TokensService and TagsService (test-only; see memory-core.ts). */
import type { Microvm, MicrovmState, ResourceKind } from '../../../../src/core/model.js';
import type { Caller, MicrovmsService, TagsService, TokensService } from '../../../../src/core/services.js';
import { CubbyError } from '../../../../src/errors/index.js';
import { idempotent, lowerAlnum, paginate, tagKey, type MemoryState } from './memory-store.js';

const DEFAULT_MAX_DURATION = 28_800;

function notFound(id: string): CubbyError {
  return new CubbyError('MICROVM_NOT_FOUND', `MicroVM '${id}' not found.`, { details: { resourceType: 'Microvm', resourceId: id } });
}

export function memoryMicrovms(state: MemoryState): MicrovmsService {
  const own = (caller: Caller) => state.microvms.filter((m) => m.tenantId === caller.tenant.id);
  const find = (caller: Caller, id: string): Microvm => {
    const m = own(caller).find((x) => x.id === id);
    if (!m) throw notFound(id);
    return m;
  };
  const move = (m: Microvm, from: MicrovmState, to: MicrovmState): Microvm => {
    if (m.state !== from) {
      throw new CubbyError('MICROVM_BAD_STATE', `MicroVM '${m.id}' is ${m.state}, not ${from}.`, { details: { resourceType: 'Microvm', resourceId: m.id } });
    }
    const now = new Date();
    m.state = to;
    m.updatedAt = now;
    if (to === 'SUSPENDED') m.suspendedAt = now;
    else delete m.suspendedAt;
    return { ...m };
  };

  return {
    async run(caller, input) {
      state.calls.push('microvms.run');
      return idempotent(state, caller, 'run', input.clientToken, { ...input, clientToken: undefined }, () => {
        const image = state.images.find((i) => i.tenantId === caller.tenant.id && i.name === input.image);
        if (!image) throw new CubbyError('IMAGE_NOT_FOUND', `MicroVM image '${input.image}' not found.`);
        const versionName = input.version ?? image.latestActiveVersion;
        const version = state.versions.find((v) => v.imageId === image.id && v.version === versionName);
        if (!version) throw new CubbyError('IMAGE_VERSION_NOT_FOUND', `Image '${input.image}' has no version '${versionName ?? '(active)'}'.`);
        if (version.state !== 'SUCCESSFUL' || version.status !== 'ACTIVE') {
          throw new CubbyError('IMAGE_NOT_READY', `Version ${version.version} is ${version.state}/${version.status}.`);
        }
        const now = new Date();
        const m: Microvm = {
          id: lowerAlnum(20), tenantId: caller.tenant.id, imageId: image.id, imageVersion: version.version,
          state: 'RUNNING', maximumDurationSeconds: input.maximumDurationSeconds ?? DEFAULT_MAX_DURATION,
          egress: input.egress ?? version.settings.egress, extra: { ...(input.extra ?? {}) },
          startedAt: now, lastActivityAt: now, updatedAt: now, runningSeconds: 0, suspendedSeconds: 0,
          ...(input.idlePolicy ? { idlePolicy: input.idlePolicy } : {}),
          ...(input.runHookPayload !== undefined ? { runHookPayload: input.runHookPayload } : {}),
        };
        state.microvms.push(m);
        return { ...m };
      });
    },
    async get(caller, id) {
      return { ...find(caller, id) };
    },
    async list(caller, page) {
      let items = own(caller);
      if (page.image !== undefined) {
        const image = state.images.find((i) => i.tenantId === caller.tenant.id && i.name === page.image);
        if (!image) throw new CubbyError('IMAGE_NOT_FOUND', `MicroVM image '${page.image}' not found.`);
        items = items.filter((m) => m.imageId === image.id);
      }
      if (page.version !== undefined) items = items.filter((m) => m.imageVersion === page.version);
      if (page.states !== undefined) items = items.filter((m) => page.states?.includes(m.state));
      return paginate(items.map((m) => ({ ...m })), page);
    },
    async suspend(caller, id) {
      state.calls.push('microvms.suspend');
      return move(find(caller, id), 'RUNNING', 'SUSPENDED');
    },
    async resume(caller, id) {
      state.calls.push('microvms.resume');
      return move(find(caller, id), 'SUSPENDED', 'RUNNING');
    },
    async terminate(caller, id) {
      state.calls.push('microvms.terminate');
      const m = find(caller, id);
      if (m.state !== 'TERMINATED') {
        m.state = 'TERMINATED';
        m.terminatedAt = new Date();
        m.stateReason = 'Terminated by the caller';
        m.updatedAt = m.terminatedAt;
      }
      return { ...m };
    },
    async logs(caller, id) {
      find(caller, id);
      return Buffer.alloc(0);
    },
  };
}

export function memoryTokens(state: MemoryState): TokensService {
  const live = (caller: Caller, id: string) => {
    const m = state.microvms.find((x) => x.tenantId === caller.tenant.id && x.id === id);
    if (!m) throw notFound(id);
    if (m.state === 'TERMINATED') throw new CubbyError('MICROVM_BAD_STATE', `MicroVM '${id}' is TERMINATED.`);
  };
  const mint = (minutes: number) => {
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 60) throw new CubbyError('CUBBY_VALIDATION', 'minutes must be 1-60');
    return { token: `cbt_${lowerAlnum(32)}`, expiresAt: new Date(Date.now() + minutes * 60_000) };
  };
  return {
    async createAuthToken(caller, id, minutes) {
      state.calls.push('tokens.createAuthToken');
      live(caller, id);
      return mint(minutes);
    },
    async createShellToken(caller, id, minutes) {
      state.calls.push('tokens.createShellToken');
      live(caller, id);
      return mint(minutes);
    },
  };
}

export function memoryTags(state: MemoryState): TagsService {
  /** Like the real core: images by name, microVMs by id; the stored key uses the record id. */
  const check = (caller: Caller, kind: ResourceKind, id: string) => {
    if (kind === 'image') {
      const image = state.images.find((i) => i.tenantId === caller.tenant.id && i.name === id);
      if (!image) throw new CubbyError('IMAGE_NOT_FOUND', `Image '${id}' not found.`);
      return tagKey(caller.tenant.id, kind, image.id);
    }
    if (!state.microvms.some((m) => m.tenantId === caller.tenant.id && m.id === id)) throw notFound(id);
    return tagKey(caller.tenant.id, kind, id);
  };
  return {
    async tag(caller, kind, id, tags) {
      state.calls.push('tags.tag');
      const key = check(caller, kind, id);
      state.tags.set(key, { ...(state.tags.get(key) ?? {}), ...tags });
    },
    async untag(caller, kind, id, keys) {
      state.calls.push('tags.untag');
      const key = check(caller, kind, id);
      const current = { ...(state.tags.get(key) ?? {}) };
      for (const k of keys) delete current[k];
      state.tags.set(key, current);
    },
    async list(caller, kind, id) {
      return { ...(state.tags.get(check(caller, kind, id)) ?? {}) };
    },
  };
}
