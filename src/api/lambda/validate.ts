/** Runs a zod schema over wire input; a failure is a ValidationException naming each bad member. */
import type { z } from 'zod';
import { CubbyError } from '../../errors/index.js';

const MAX_ISSUES = 5;

function where(path: ReadonlyArray<PropertyKey>, what: string): string {
  const p = path
    .map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`))
    .join('')
    .replace(/^\./, '');
  return p === '' ? what : `${what} member '${p}'`;
}

export function formatIssues(issues: ReadonlyArray<z.core.$ZodIssue>, what: string): string {
  const parts = issues.slice(0, MAX_ISSUES).map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return `${where(issue.path, what)}: unknown member(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    }
    return `${where(issue.path, what)}: ${issue.message}`;
  });
  const more = issues.length > MAX_ISSUES ? ` (and ${issues.length - MAX_ISSUES} more)` : '';
  return `${parts.join('; ')}${more}`;
}

/** `what` names the input part in messages: 'body', 'query' or 'path'. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const n = result.error.issues.length;
    throw new CubbyError(
      'CUBBY_VALIDATION',
      `${n} validation error${n === 1 ? '' : 's'} detected: ${formatIssues(result.error.issues, what)}`,
    );
  }
  return result.data;
}
