/** Checks a Dockerfile's FROM against the managed images and the base the caller asked for. */
import { CubbyError } from '../../errors/index.js';
import type { FromClause } from './analyze.js';

export interface BaseRef {
  name: string;
  version?: string;
}

const VERSION = /^\d+\.\d+$/;

/** The managed base to build on; the FROM must name it (and its version, when both give one). */
export function checkFrom(from: FromClause, requested: BaseRef, managedNames: readonly string[]): BaseRef {
  const known = managedNames.join(', ');
  const at = `Dockerfile line ${from.line}`;
  if (from.image === 'scratch') {
    throw new CubbyError('DOCKERFILE_INVALID', `${at}: FROM scratch is not supported; start FROM a managed image (${known})`);
  }
  if (!managedNames.includes(from.image)) {
    throw new CubbyError(
      'DOCKERFILE_INVALID',
      `${at}: FROM ${from.image} is not a managed image (${known}); images are never pulled from a registry`,
      { details: { from: from.image } },
    );
  }
  if (from.image !== requested.name) {
    throw new CubbyError(
      'DOCKERFILE_FROM_MISMATCH',
      `${at}: FROM ${from.image} does not match the requested base image ${requested.name}`,
      { details: { from: from.image, requested: requested.name } },
    );
  }
  const tag = from.tag === 'latest' ? undefined : from.tag;
  if (tag !== undefined && !VERSION.test(tag)) {
    throw new CubbyError('DOCKERFILE_INVALID', `${at}: managed image versions look like "1.0", not "${tag}"`);
  }
  if (tag && requested.version && tag !== requested.version) {
    throw new CubbyError(
      'DOCKERFILE_FROM_MISMATCH',
      `${at}: FROM ${from.image}:${tag} does not match the requested base version ${requested.version}`,
      { details: { from: `${from.image}:${tag}`, requested: `${requested.name}:${requested.version}` } },
    );
  }
  const version = requested.version ?? tag;
  return { name: requested.name, ...(version ? { version } : {}) };
}

/** The Dockerfile with its FROM pointing at `localRef`; other lines keep their numbers. */
export function rewriteFrom(text: string, from: FromClause, localRef: string): string {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const replacement = [`FROM ${localRef}${from.alias ? ` AS ${from.alias}` : ''}`];
  for (let l = from.line + 1; l <= from.endLine; l++) replacement.push('');
  lines.splice(from.line - 1, from.endLine - from.line + 1, ...replacement);
  return lines.join('\n');
}
