/**
 * Recomputes the Signature Version 4 signature of a received request with @smithy/signature-v4,
 * signing exactly the headers the client listed, so the result equals the client's signature
 * when (and only when) the request is intact and the secret is right.
 */
import { createHash } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { CubbyError } from '../../../errors/index.js';
import type { ParsedAuthorization } from './authorization-header.js';
import type { ReceivedRequest } from './types.js';

const CONTENT_SHA256 = 'x-amz-content-sha256';

function headerValue(headers: ReceivedRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export function sha256Hex(body: Buffer | undefined): string {
  return createHash('sha256')
    .update(body ?? Buffer.alloc(0))
    .digest('hex');
}

/**
 * A client that signs `x-amz-content-sha256` vouches for the body through it; check the body
 * really has that hash (an unsigned payload is refused: this API always signs bodies).
 */
function checkPayloadHash(req: ReceivedRequest, auth: ParsedAuthorization): void {
  const claimed = headerValue(req.headers, CONTENT_SHA256);
  if (req.streamedBody) {
    if (!auth.signedHeaders.includes(CONTENT_SHA256) || !/^[0-9a-f]{64}$/i.test(claimed ?? '')) {
      throw new CubbyError('AUTH_MALFORMED', "An upload must sign 'x-amz-content-sha256' with the hex SHA-256 of its body.");
    }
    return;
  }
  if (!auth.signedHeaders.includes(CONTENT_SHA256)) return;
  if (claimed !== sha256Hex(req.body)) {
    throw new CubbyError('AUTH_BAD_SIGNATURE', 'The provided x-amz-content-sha256 header does not match what was computed.');
  }
}

export async function computeSignature(
  req: ReceivedRequest,
  auth: ParsedAuthorization,
  secretAccessKey: string,
  signingDate: Date,
): Promise<{ signature: string; signedHeaders: string }> {
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const value = headerValue(req.headers, name);
    if (value === undefined) {
      throw new CubbyError('AUTH_MALFORMED', `Header '${name}' is listed in SignedHeaders but missing from the request.`);
    }
    headers[name] = value;
  }
  checkPayloadHash(req, auth);
  const signer = new SignatureV4({
    credentials: { accessKeyId: auth.accessKeyId, secretAccessKey },
    region: auth.region,
    service: auth.service,
    sha256: Sha256,
    applyChecksum: false,
    uriEscapePath: true,
  });
  const signed = await signer.sign(
    { method: req.method, protocol: 'http:', hostname: headers.host ?? '', path: req.rawPath, query: req.query, headers, body: req.body },
    { signingDate, signableHeaders: new Set(auth.signedHeaders) },
  );
  const authorization = String(signed.headers.authorization ?? '');
  const m = /SignedHeaders=([^,]*), Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!m) throw new CubbyError('CUBBY_INTERNAL', 'signature-v4 produced an unexpected Authorization header');
  return { signedHeaders: m[1] ?? '', signature: m[2] ?? '' };
}
