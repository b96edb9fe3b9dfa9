/**
 * E2B templates are Cubby images: any image of the tenant by name or id. Images opt in to the
 * in-sandbox agent (ImageSettings.agent; `cubbyAgent: true` on the Lambda API; `base` always has
 * it): an image without it still makes sandboxes (lifecycle, the app's own ports), but its envd
 * port answers 502, so commands and files need an image built with the agent.
 * `base` exists for every tenant: baseTemplateEnsurer builds the tenant's image `base` from
 * BASE_DOCKERFILE on first use (concurrent creates share one build) and waits for it. The same
 * holds for `code-interpreter-v1` (code-interpreter-template.ts): MANAGED_TEMPLATES lists both.
 * Managed templates follow the host's agent: when the latest version was snapshotted with another
 * agent binary (Cubby was upgraded), one new version is built in the background while the old one
 * keeps serving (agent-refresh.ts).
 */
import { CubbyError, isCubbyError } from '../../errors/index.js';
import type { Image, ImageSettings } from '../../core/model.js';
import type { Caller, CoreServices } from '../../core/services.js';
import { AGENT_PATH } from '../../core/images/agent.js';
import { AgentRefresher } from './agent-refresh.js';
import { CODE_INTERPRETER_DOCKERFILE, CODE_INTERPRETER_TEMPLATE, codeInterpreterTemplateSettings } from './code-interpreter-template.js';

export const BASE_TEMPLATE = 'base';
/** The managed base of `base`: Debian 12 with E2B's conventions (user `user`, sudo, bash, python3, git, curl, Node.js). */
export const BASE_MANAGED_IMAGE = 'debian-12-e2b';
/**
 * gVisor sets no_new_privs on every task, so the setuid /usr/bin/sudo can never become root in a
 * sandbox: `sudo` on PATH is the agent in its sudo role (agent/sudo.go), which asks the agent.
 */
export const BASE_DOCKERFILE = [
  `FROM ${BASE_MANAGED_IMAGE}`,
  `RUN ln -sf ${AGENT_PATH} /usr/local/bin/sudo`,
  'WORKDIR /home/user',
  'ENV HOME=/home/user',
  '',
].join('\n');
/** The in-sandbox agent's port (envd's); it also serves the image's ready and run hooks. */
export const ENVD_PORT = 49983;

export interface BaseTemplateHost {
  /** Stores a build context (files by name) as one of the tenant's uploads; returns its artifact URI. */
  storeContext(tenantId: string, files: Record<string, string>): Promise<string>;
  /** How long a create waits for the first build of `base` (default 15 min). */
  buildTimeoutMs?: number;
  pollMs?: number;
  /** Where agent refreshes of managed templates are logged. */
  log?: { info(fields: object, msg: string): void; warn(fields: object, msg: string): void };
}

/** The settings of the tenant's `base` image: the agent, its ready hook, and its run hook (envVars). */
export function baseTemplateSettings(codeArtifactUri: string): ImageSettings {
  return {
    baseImage: BASE_MANAGED_IMAGE,
    codeArtifactUri,
    environment: {},
    memoryMiB: 2048,
    vcpus: 1,
    hooks: { port: ENVD_PORT, enabled: { ready: true, run: true }, timeouts: {} },
    egress: { mode: 'closed' },
    agent: true,
    extra: {},
  };
}

/** The templates every tenant has, built from a Dockerfile on first use. */
export const MANAGED_TEMPLATES: Record<string, { dockerfile: string; settings: (codeArtifactUri: string) => ImageSettings }> = {
  [BASE_TEMPLATE]: { dockerfile: BASE_DOCKERFILE, settings: baseTemplateSettings },
  [CODE_INTERPRETER_TEMPLATE]: { dockerfile: CODE_INTERPRETER_DOCKERFILE, settings: codeInterpreterTemplateSettings },
};

function isManagedTemplate(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(MANAGED_TEMPLATES, name);
}

/** ensureBaseTemplate for a host that can build: the tenant's managed template, built on first use. */
export function baseTemplateEnsurer(
  host: BaseTemplateHost,
): (caller: Caller, core: CoreServices, template?: string) => Promise<string | undefined> {
  const inFlight = new Map<string, Promise<string>>();
  const refresher = new AgentRefresher({
    ...(host.log ? { log: host.log } : {}),
    rebuild: async (caller, core, template) => {
      const def = MANAGED_TEMPLATES[template];
      if (!def) throw new CubbyError('IMAGE_NOT_FOUND', `template '${template}' not found`);
      const uri = await host.storeContext(caller.tenant.id, { Dockerfile: def.dockerfile });
      return (await core.images.update(caller, template, def.settings(uri))).version.version;
    },
  });
  return (caller, core, template = BASE_TEMPLATE) => {
    if (!isManagedTemplate(template)) return Promise.resolve(undefined);
    const key = `${caller.tenant.id}\0${template}`;
    let p = inFlight.get(key);
    if (!p) {
      p = ensureBuilt(host, caller, core, template).finally(() => inFlight.delete(key));
      inFlight.set(key, p);
    }
    // Never waits for the refresh: the current version serves until the new one is SUCCESSFUL.
    return p.then((name) => {
      refresher.check(caller, core, template);
      return name;
    });
  };
}

async function ensureBuilt(host: BaseTemplateHost, caller: Caller, core: CoreServices, template: string): Promise<string> {
  const def = MANAGED_TEMPLATES[template];
  if (!def) throw new CubbyError('IMAGE_NOT_FOUND', `template '${template}' not found`, { details: { templateID: template } });
  let image = await imageOrUndefined(core, caller, template);
  if (!image) {
    const uri = await host.storeContext(caller.tenant.id, { Dockerfile: def.dockerfile });
    try {
      image = (await core.images.create(caller, { name: template, settings: def.settings(uri) })).image;
    } catch (e) {
      // Another daemon process (or a racing request) made it first: wait for that one.
      image = await imageOrUndefined(core, caller, template);
      if (!image) throw e;
    }
  }
  const deadline = Date.now() + (host.buildTimeoutMs ?? 15 * 60_000);
  while (!image.latestActiveVersion) {
    if (image.state === 'CREATE_FAILED' || image.state === 'DELETING' || image.state === 'DELETED') {
      throw new CubbyError('BUILD_FAILED', `template '${template}' could not be built (image state ${image.state}); see its build log`);
    }
    if (Date.now() > deadline) throw new CubbyError('BUILD_FAILED', `template '${template}' is still building; try again later`);
    await new Promise((r) => setTimeout(r, host.pollMs ?? 500));
    image = await core.images.get(caller, template);
  }
  return template;
}

async function imageOrUndefined(core: CoreServices, caller: Caller, name: string): Promise<Image | undefined> {
  try {
    return await core.images.get(caller, name);
  } catch (e) {
    if (isCubbyError(e) && e.kind === 'not_found') return undefined;
    throw e;
  }
}

/** The default for a managed template (`base`, ...): the tenant's image of that name, if it has one. */
export async function ensureBaseTemplate(caller: Caller, core: CoreServices, template = BASE_TEMPLATE): Promise<string | undefined> {
  return (await imageNamed(core, caller, template)) ? template : undefined;
}

async function imageNamed(core: CoreServices, caller: Caller, name: string): Promise<boolean> {
  try {
    await core.images.get(caller, name);
    return true;
  } catch (e) {
    if (isCubbyError(e) && e.kind === 'not_found') return false;
    throw e;
  }
}

async function imageWithId(core: CoreServices, caller: Caller, id: string): Promise<string | undefined> {
  let nextToken: string | undefined;
  do {
    const page = await core.images.list(caller, { maxResults: 100, ...(nextToken ? { nextToken } : {}) });
    const hit = page.items.find((i) => i.id === id);
    if (hit) return hit.name;
    nextToken = page.nextToken;
  } while (nextToken);
  return undefined;
}

/** The name of the image a templateID names; a 404-kind error when there is none. */
export async function resolveTemplate(
  core: CoreServices,
  caller: Caller,
  templateID: string,
  ensureBase: (caller: Caller, core: CoreServices, template?: string) => Promise<string | undefined> = ensureBaseTemplate,
): Promise<string> {
  if (isManagedTemplate(templateID)) {
    const name = await ensureBase(caller, core, templateID);
    if (name !== undefined) return name;
    throw new CubbyError('IMAGE_NOT_FOUND', `template '${templateID}' is not built yet`, { details: { templateID } });
  }
  const name = (await imageNamed(core, caller, templateID)) ? templateID : await imageWithId(core, caller, templateID);
  if (name !== undefined) return name;
  throw new CubbyError('IMAGE_NOT_FOUND', `template '${templateID}' not found`, { details: { templateID } });
}
