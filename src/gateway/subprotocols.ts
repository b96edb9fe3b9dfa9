/**
 * WebSocket subprotocols the gateway reads itself (browsers cannot set headers on a WebSocket,
 * so the token and port ride in Sec-WebSocket-Protocol). The app never sees them.
 */
export const AUTH_SUBPROTOCOL_PREFIX = 'lambda-microvms.authentication.';
export const PORT_SUBPROTOCOL_PREFIX = 'lambda-microvms.port.';
const GATEWAY_PREFIX = 'lambda-microvms.';

export function parseSubprotocols(header: string | undefined): string[] {
  if (!header) return [];
  return header
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export function isGatewaySubprotocol(p: string): boolean {
  return p.startsWith(GATEWAY_PREFIX);
}

/** The value carried by the first subprotocol with this prefix, if any. */
export function subprotocolValue(protocols: string[], prefix: string): string | undefined {
  const hit = protocols.find((p) => p.startsWith(prefix));
  return hit === undefined ? undefined : hit.slice(prefix.length);
}
