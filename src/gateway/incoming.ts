/**
 * One view of a request over HTTP/1.1 or HTTP/2. Node's HTTP/2 compatibility objects carry the
 * same methods the proxy uses (pipe, writeHead, flushHeaders, addTrailers, destroy), but their
 * headers hold pseudo-headers (:authority instead of Host), they have no headersDistinct, and a
 * body is announced by the stream staying open, not by Content-Length/Transfer-Encoding.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';

export interface IncomingView {
  /** Header fields as HTTP/1.1 names them (host included, no pseudo-headers). */
  headers: IncomingHttpHeaders;
  /** The same, every field as a list of its values. */
  distinct: NodeJS.Dict<string[]>;
  h2: boolean;
  /** The request has no body to forward. */
  bodiless: boolean;
}

export function viewOf(req: IncomingMessage | Http2ServerRequest): IncomingView {
  if (req.httpVersionMajor !== 2) {
    const r = req as IncomingMessage;
    const bodiless =
      r.headers['transfer-encoding'] === undefined && (r.headers['content-length'] === undefined || r.headers['content-length'] === '0');
    return { headers: r.headers, distinct: r.headersDistinct, h2: false, bodiless };
  }
  const r = req as Http2ServerRequest;
  const headers: IncomingHttpHeaders = {};
  const distinct: NodeJS.Dict<string[]> = {};
  for (const [name, value] of Object.entries(r.headers)) {
    if (value === undefined || name.startsWith(':')) continue;
    headers[name] = value;
    distinct[name] = Array.isArray(value) ? value : [value];
  }
  const authority = r.headers[':authority'];
  if (typeof authority === 'string' && headers.host === undefined) {
    headers.host = authority;
    distinct.host = [authority];
  }
  const bodiless = r.stream.endAfterHeaders || r.headers['content-length'] === '0';
  return { headers, distinct, h2: true, bodiless };
}
