/**
 * The `domain` E2B responses carry. The SDK builds `https://<port>-<id>.<domain>` from it (envd,
 * `getHost`, `downloadUrl`, `uploadUrl`) with no port of its own, so a gateway that is not on the
 * scheme's default port is named with its port, as Cubby's Lambda endpoints are; otherwise host
 * routing would reach port 443 instead of the gateway.
 */
export function e2bSandboxDomain(domain: string, gatewayPort: number, scheme: 'http' | 'https'): string {
  const defaultPort = scheme === 'https' ? 443 : 80;
  return gatewayPort === defaultPort ? domain : `${domain}:${gatewayPort}`;
}
