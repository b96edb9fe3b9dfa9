#!/usr/bin/env node
/** The `cubby` command line: operator commands, the daemon, and a terminal mirror of the API. */
import { Command } from 'commander';
import { registerServe } from './commands/serve.js';
import { registerOperator } from './commands/operator.js';
import { registerImages } from './commands/images.js';
import { registerMicrovms } from './commands/microvms.js';
import { registerUsage } from './commands/usage.js';
import { registerValidate } from './commands/validate.js';
import { registerRoles } from './commands/roles.js';
import { isCubbyError } from '../errors/index.js';

const program = new Command('cubby')
  .description('Isolated, stateful sandboxes: build from a Dockerfile, launch from a snapshot, suspend when idle.')
  .showHelpAfterError();
registerServe(program);
registerOperator(program);
registerImages(program);
registerMicrovms(program);
registerUsage(program);
registerValidate(program);
registerRoles(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  const err = e as { name?: string; message?: string; $metadata?: unknown; code?: unknown };
  // Checked first: the SDK's connection errors carry $metadata too.
  if (err && typeof err === 'object' && err.code === 'ECONNREFUSED')
    process.stderr.write('cubby: the daemon is not reachable (is `./cubby serve` running? set AWS_ENDPOINT_URL)\n');
  else if (isCubbyError(e)) process.stderr.write(`cubby: ${e.code}: ${e.message}\n`);
  else if (err.$metadata) process.stderr.write(`cubby: ${err.name}: ${err.message}\n`);
  else process.stderr.write(`cubby: ${err?.message ?? String(e)}\n`);
  process.exit(1);
});
