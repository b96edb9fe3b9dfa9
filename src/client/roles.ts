/** Secrets and execution roles (/cubby/v1/secrets, /cubby/v1/roles) as the CLI calls them. */
import type { LambdaMicrovmsClient } from '@aws-sdk/client-lambda-microvms';
import { apiClient } from './api-client.js';
import { ExtensionError, signedCall } from './extension.js';

export interface SecretWire {
  name: string;
  version: number;
  createdAt: number;
  updatedAt: number;
}

export interface RoleWire {
  name: string;
  arn: string;
  secrets: string[];
  permissions: string[];
  launch?: { images: string[]; maxChildren: number };
  createdAt: number;
}

export interface RoleInput {
  name: string;
  secrets?: string[];
  permissions?: string[];
  launch?: { images: string[]; maxChildren: number };
}

async function call<T>(method: string, path: string, body?: unknown, client: LambdaMicrovmsClient = apiClient()): Promise<T> {
  const r = await signedCall(
    client,
    method,
    path,
    body === undefined ? undefined : { bytes: Buffer.from(JSON.stringify(body)), contentType: 'application/json' },
  );
  if (r.status >= 300) throw new ExtensionError(r.status, r.body);
  return JSON.parse(r.body) as T;
}

const seg = encodeURIComponent;

export const putSecret = (name: string, value: string, client?: LambdaMicrovmsClient) =>
  call<SecretWire>('PUT', `/cubby/v1/secrets/${seg(name)}`, { value }, client);
export const listSecrets = async (client?: LambdaMicrovmsClient) =>
  (await call<{ secrets: SecretWire[] }>('GET', '/cubby/v1/secrets', undefined, client)).secrets;
export const createRole = (input: RoleInput, client?: LambdaMicrovmsClient) => call<RoleWire>('POST', '/cubby/v1/roles', input, client);
export const listRoles = async (client?: LambdaMicrovmsClient) =>
  (await call<{ roles: RoleWire[] }>('GET', '/cubby/v1/roles', undefined, client)).roles;
export const getRole = (name: string, client?: LambdaMicrovmsClient) =>
  call<RoleWire>('GET', `/cubby/v1/roles/${seg(name)}`, undefined, client);
export const deleteRole = (name: string, client?: LambdaMicrovmsClient) =>
  call<RoleWire>('DELETE', `/cubby/v1/roles/${seg(name)}`, undefined, client);
