/**
 * The code interpreter's names, shared by the managed base that ships it (images), the E2B
 * template that runs it (api) and the gateway that guards its port.
 */

/** The managed base with Jupyter kernels, Node.js and the service (src/images/base/code-interpreter-recipe.ts). */
export const CODE_INTERPRETER_BASE = 'debian-12-code-interpreter';
/** Where the service listens in the sandbox (the E2B client's JUPYTER_PORT). */
export const CODE_INTERPRETER_PORT = 49999;
/** The service's launcher in the base image (it drops to `user` when started as root). */
export const CODE_INTERPRETER_COMMAND = '/usr/local/bin/cubby-code-interpreter';
/** The one path on its port that runs code: it needs the sandbox's access token, like the agent. */
export const CODE_INTERPRETER_EXECUTE_PATH = '/execute';
