/**
 * `code-interpreter-v1`, the @e2b/code-interpreter client's default template, for every tenant:
 * `base`'s conventions on the managed base with Jupyter kernels, Node.js and the code-interpreter
 * service (port 49999), which is the image's app under the agent. The service answers the image's
 * hooks: `ready` only once the default python and javascript kernels are started and warm (numpy
 * and pandas imported), so the snapshot every sandbox restores from holds warm kernels; `run`
 * (the create call's envVars) it applies to every context and passes on to the agent.
 */
import type { ImageSettings } from '../../core/model.js';
import { AGENT_PATH } from '../../core/images/agent.js';
import { CODE_INTERPRETER_BASE, CODE_INTERPRETER_COMMAND, CODE_INTERPRETER_PORT } from '../../core/images/code-interpreter.js';

export const CODE_INTERPRETER_TEMPLATE = 'code-interpreter-v1';

export const CODE_INTERPRETER_DOCKERFILE = [
  `FROM ${CODE_INTERPRETER_BASE}`,
  `RUN ln -sf ${AGENT_PATH} /usr/local/bin/sudo`,
  'WORKDIR /home/user',
  'ENV HOME=/home/user',
  `EXPOSE ${CODE_INTERPRETER_PORT}`,
  `CMD ["${CODE_INTERPRETER_COMMAND}"]`,
  '',
].join('\n');

export function codeInterpreterTemplateSettings(codeArtifactUri: string): ImageSettings {
  return {
    baseImage: CODE_INTERPRETER_BASE,
    codeArtifactUri,
    environment: {},
    memoryMiB: 2048,
    vcpus: 1,
    // Starting two kernels and importing pandas under gVisor takes a while on a busy host.
    hooks: { port: CODE_INTERPRETER_PORT, enabled: { ready: true, run: true }, timeouts: { ready: 600 } },
    egress: { mode: 'closed' },
    // Node (the JavaScript kernel) and OpenBLAS reserve far more address space than they use.
    sandbox: { addressSpaceMiB: 0 },
    agent: true,
    extra: {},
  };
}
