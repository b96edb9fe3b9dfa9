/** Requests of the token operations. */
import { z } from 'zod';
import { int } from './common.js';

export const MAX_TOKEN_MINUTES = 60;

const Port = int(1, 65535);

/** A tagged union: exactly one of `port`, `range` or `allPorts: {}`. */
export const PortSpecification = z
  .strictObject({
    port: Port.optional(),
    range: z
      .strictObject({ startPort: Port, endPort: Port })
      .refine((r) => r.startPort <= r.endPort, 'startPort must not exceed endPort')
      .optional(),
    allPorts: z.strictObject({}).optional(),
  })
  .refine(
    (p) => [p.port, p.range, p.allPorts].filter((v) => v !== undefined).length === 1,
    'must set exactly one of port, range, allPorts',
  );

export const CreateMicrovmAuthTokenBody = z.strictObject({
  expirationInMinutes: int(1, MAX_TOKEN_MINUTES),
  allowedPorts: z.array(PortSpecification).min(1).max(100),
});

export const CreateMicrovmShellAuthTokenBody = z.strictObject({
  expirationInMinutes: int(1, MAX_TOKEN_MINUTES),
});
