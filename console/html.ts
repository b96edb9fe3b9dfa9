// Preact with htm: components written as tagged templates, no JSX compile step.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);

export interface Session {
  csrf: string;
  expiresAt: string;
  principal: { kind: 'operator' } | { kind: 'tenant'; tenantId: string; tenant: string; via: string };
}

export function isOperator(s: Session): boolean {
  return s.principal.kind === 'operator';
}

export function go(hash: string): void {
  location.hash = hash;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
