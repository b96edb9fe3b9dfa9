/**
 * Cubby's extension members on a standard request (e.g. `cubbyBuildDiskMiB` on
 * CreateMicrovmImage): the official client serializes only the members of its model, so these
 * are merged into the JSON body after serialization and before signing (the signature covers them).
 * Used by the CLI and the tests; any SigV4 client can send the members as plain JSON.
 */
import type { BuildHandler, BuildHandlerArguments, MiddlewareStack } from '@smithy/types';

interface HttpRequestLike {
  body?: unknown;
  headers: Record<string, string>;
}

/** Adds `members` to the command's JSON body; nothing when every member is undefined. */
export function withCubbyMembers<I extends object, O extends object, C extends { middlewareStack: MiddlewareStack<I, O> }>(
  command: C & { middlewareStack: MiddlewareStack<I, O> },
  members: Record<string, unknown>,
): C {
  const defined = Object.fromEntries(Object.entries(members).filter(([, v]) => v !== undefined));
  if (Object.keys(defined).length === 0) return command;
  command.middlewareStack.add(
    (next: BuildHandler<I, O>) => async (args: BuildHandlerArguments<I>) => {
      const req = args.request as HttpRequestLike;
      // The serializer hands over a string or (newer clients) the JSON's bytes.
      const text =
        typeof req.body === 'string' ? req.body : req.body instanceof Uint8Array ? Buffer.from(req.body).toString('utf8') : undefined;
      if (text !== undefined) {
        const body = Buffer.from(JSON.stringify({ ...(JSON.parse(text || '{}') as Record<string, unknown>), ...defined }), 'utf8');
        req.body = typeof req.body === 'string' ? body.toString('utf8') : new Uint8Array(body);
        for (const h of Object.keys(req.headers)) if (h.toLowerCase() === 'content-length') req.headers[h] = String(body.length);
      }
      return next(args);
    },
    { step: 'build', priority: 'high', name: 'cubbyMembers' },
  );
  return command;
}
