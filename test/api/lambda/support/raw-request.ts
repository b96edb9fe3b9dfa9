/**
 * Hand-made requests to an in-process API on 127.0.0.1: signed like the official client signs,
 * or not signed, or replayed as captured (see test/support/signed-http.ts).
 */
import { sendWire, signWire, type SignedAnswer, type SignedRequest, type WireRequest } from '../../../support/signed-http.js';
import type { TestKey } from './harness.js';

export type RawResponse = SignedAnswer;
export type RawRequest = WireRequest;

export function send(port: number, req: RawRequest): Promise<RawResponse> {
  return sendWire('127.0.0.1', port, req, 10_000);
}

export function signed(port: number, key: Pick<TestKey, 'accessKeyId' | 'secretAccessKey'>, req: SignedRequest): Promise<RawRequest> {
  return signWire('127.0.0.1', port, key, req);
}
