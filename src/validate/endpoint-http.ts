/** Requests to a microVM endpoint through the gateway, as a user's client makes them. */
import http from 'node:http';
import https from 'node:https';
import { endpointTarget } from '../client/endpoint.js';

export const AUTH_HEADER = 'X-aws-proxy-auth';

export interface Answer {
  status: number;
  body: string;
}

export interface EndpointRequest {
  endpoint: string;
  token: string;
  port: number;
  path: string;
  timeoutMs: number;
}

export function requestOnce(r: EndpointRequest): Promise<Answer> {
  const t = endpointTarget(r.endpoint);
  // A daemon serving TLS (--tls) is reached over HTTPS, its certificate checked for the endpoint's
  // name (trust: the system's roots plus NODE_EXTRA_CA_CERTS, e.g. `--tls self-signed`'s CA).
  const request = t.secure ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: t.host,
        port: t.port,
        ...(t.secure ? { servername: new URL(r.endpoint).hostname } : {}),
        path: r.path,
        method: 'GET',
        agent: false,
        headers: { host: t.hostHeader, [AUTH_HEADER]: r.token, 'x-aws-proxy-port': String(r.port) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < 4096) {
            chunks.push(c);
            size += c.length;
          }
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 4096) }));
        res.on('error', reject);
      },
    );
    req.setTimeout(r.timeoutMs, () => req.destroy(new Error(`no answer in ${r.timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Milliseconds from `since` until the app answers: retries while the gateway itself fails (5xx,
 * refused) until the deadline. Any status below 500 is the app's answer.
 */
export async function firstAnswer(
  r: Omit<EndpointRequest, 'timeoutMs'>,
  since: number,
  deadlineMs: number,
): Promise<{ ms: number; status: number }> {
  let last = '';
  while (Date.now() - since < deadlineMs) {
    const left = Math.max(1000, deadlineMs - (Date.now() - since));
    try {
      const a = await requestOnce({ ...r, timeoutMs: left });
      if (a.status < 500) return { ms: Date.now() - since, status: a.status };
      last = `${a.status} ${a.body.slice(0, 200)}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`no answer from the app in ${deadlineMs} ms (last: ${last})`);
}
