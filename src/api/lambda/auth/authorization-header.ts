/**
 * Parses the `Authorization` header of a Signature Version 4 request:
 * `AWS4-HMAC-SHA256 Credential=<key>/<yyyymmdd>/<region>/<service>/aws4_request, SignedHeaders=a;b, Signature=<hex>`.
 */
import { CubbyError } from '../../../errors/index.js';

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';

export interface ParsedAuthorization {
  accessKeyId: string;
  /** yyyymmdd of the credential scope. */
  scopeDate: string;
  region: string;
  service: string;
  /** Lower-case header names, in the order sent. */
  signedHeaders: string[];
  signature: string;
}

function malformed(message: string): CubbyError {
  return new CubbyError('AUTH_MALFORMED', message);
}

export function parseAuthorization(value: string): ParsedAuthorization {
  const trimmed = value.trim();
  if (!trimmed.startsWith(`${SIGV4_ALGORITHM} `)) {
    throw malformed(`Authorization header must use the ${SIGV4_ALGORITHM} algorithm.`);
  }
  const fields = new Map<string, string>();
  for (const part of trimmed.slice(SIGV4_ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw malformed(`Authorization header has a malformed element '${part.trim()}'.`);
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    throw malformed("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.");
  }
  const scope = credential.split('/');
  const [accessKeyId, scopeDate, region, service, terminator] = scope;
  if (scope.length !== 5 || !accessKeyId || !scopeDate || !region || !service || terminator !== 'aws4_request') {
    throw malformed("Credential must have the form '<access key>/<yyyymmdd>/<region>/<service>/aws4_request'.");
  }
  if (!/^\d{8}$/.test(scopeDate)) throw malformed('Credential scope date must be yyyymmdd.');
  if (!/^[0-9a-f]{64}$/.test(signature)) throw malformed('Signature must be 64 lower-case hex digits.');
  const names = signedHeaders.split(';');
  if (names.some((n) => n === '' || n !== n.toLowerCase())) {
    throw malformed('SignedHeaders must be a ;-separated list of lower-case header names.');
  }
  return { accessKeyId, scopeDate, region, service, signedHeaders: names, signature };
}

/** Parses an `x-amz-date` value (yyyymmddThhmmssZ) into a Date, or undefined when malformed. */
export function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Reject values Date.UTC silently rolls over (month 13, second 61, ...).
  return formatAmzDate(date) === value ? date : undefined;
}

export function formatAmzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}
