/** Image version numbers: "major.minor", compared numerically (1.10 is after 1.9). */
import { CubbyError } from '../errors/index.js';

export interface VersionNumber {
  major: number;
  minor: number;
}

const PATTERN = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;

/** The parsed number, or undefined when the text is not a canonical "major.minor". */
export function parseVersion(text: string): VersionNumber | undefined {
  const m = PATTERN.exec(text);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

export function parseVersionOrThrow(text: string): VersionNumber {
  const v = parseVersion(text);
  if (!v) throw new CubbyError('CUBBY_VALIDATION', `version must be "major.minor", got ${JSON.stringify(text)}`);
  return v;
}

export const formatVersion = (v: VersionNumber): string => `${v.major}.${v.minor}`;

/** The version after `last` (highest ever assigned): 1.0 first, then minor + 1. */
export const versionAfter = (last: VersionNumber | undefined): VersionNumber =>
  last ? { major: last.major, minor: last.minor + 1 } : { major: 1, minor: 0 };

export const versionGreater = (a: VersionNumber, b: VersionNumber): boolean =>
  a.major > b.major || (a.major === b.major && a.minor > b.minor);
