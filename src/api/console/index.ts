/**
 * The web console on the API listener: /console (the built front end) and /console/api (JSON
 * and server-sent events for it), authenticated by its own session cookie, not SigV4.
 */
import type { FastifyInstance } from 'fastify';
import type { ConsoleOptions } from './options.js';
import { registerSessionRoutes } from './routes-session.js';
import { registerImageRoutes } from './routes-images.js';
import { registerMicrovmRoutes } from './routes-microvms.js';
import { registerUsageRoutes } from './routes-usage.js';
import { registerOperatorRoutes } from './routes-operator.js';
import { registerValidateRoutes } from './routes-validate.js';
import { defaultAssetsDir, registerStatic } from './static.js';
import { endStreamsOnClose } from './http.js';

export { ConsoleSessions } from './sessions.js';
export { ConsoleEvents } from './events.js';
export type { ConsoleOptions, HostStatus } from './options.js';
export type { ValidatorPort } from './validations.js';

/** Registers the console; `stop` ends running validations (call it before closing the listener). */
export function registerConsole(app: FastifyInstance, o: ConsoleOptions): { stop(): Promise<void> } {
  endStreamsOnClose(app);
  registerStatic(app, o.assetsDir ?? defaultAssetsDir());
  registerSessionRoutes(app, o);
  registerImageRoutes(app, o);
  registerMicrovmRoutes(app, o);
  registerUsageRoutes(app, o);
  registerOperatorRoutes(app, o);
  return { stop: registerValidateRoutes(app, o) };
}
