/**
 * Cubby's Lambda ARNs. Every region is this server's (configurable, default `local`); the
 * account is the tenant's 12-digit account id, or `aws` for the managed base images everyone
 * sees. AWS tags only images, not microVMs; Cubby tags both, with this microVM form:
 *   arn:aws:lambda:<region>:<account>:microvm-image:<name>
 *   arn:aws:lambda:<region>:aws:microvm-image:<managed name>
 *   arn:aws:lambda:<region>:<account>:microvm:<microvm id>
 * An identifier naming another account or region is reported as not found (never forbidden).
 */
import type { Caller } from '../../core/services.js';
import type { ResourceKind } from '../../core/model.js';
import { CubbyError } from '../../errors/index.js';

export const MANAGED_ACCOUNT = 'aws';
const IMAGE_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const MICROVM_ID = /^[a-zA-Z0-9_-]{1,128}$/;
const ARN = /^arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]{1,64}):(\d{12}|aws):(microvm-image|microvm):(.*)$/;

export interface ParsedArn {
  region: string;
  account: string;
  type: 'microvm-image' | 'microvm';
  id: string;
}

export function imageNotFound(identifier: string): CubbyError {
  return new CubbyError('IMAGE_NOT_FOUND', `MicroVM image '${identifier}' not found.`, {
    details: { resourceType: 'MicrovmImage', resourceId: identifier },
  });
}

export function microvmNotFound(identifier: string): CubbyError {
  return new CubbyError('MICROVM_NOT_FOUND', `MicroVM '${identifier}' not found.`, {
    details: { resourceType: 'Microvm', resourceId: identifier },
  });
}

function invalid(message: string): CubbyError {
  return new CubbyError('CUBBY_VALIDATION', message);
}

export class LambdaArns {
  constructor(readonly region: string) {}

  image(accountId: string, name: string): string {
    return `arn:aws:lambda:${this.region}:${accountId}:microvm-image:${name}`;
  }

  managedImage(name: string): string {
    return this.image(MANAGED_ACCOUNT, name);
  }

  microvm(accountId: string, id: string): string {
    return `arn:aws:lambda:${this.region}:${accountId}:microvm:${id}`;
  }

  /** undefined when `value` is not an ARN at all; throws when it is a malformed one. */
  parse(value: string): ParsedArn | undefined {
    if (!value.startsWith('arn:')) return undefined;
    const m = ARN.exec(value);
    if (!m)
      throw invalid(
        `'${value}' is not a Lambda MicroVMs ARN (arn:aws:lambda:<region>:<account>:microvm-image:<name> or ...:microvm:<id>).`,
      );
    return { region: m[1] ?? '', account: m[2] ?? '', type: m[3] as ParsedArn['type'], id: m[4] ?? '' };
  }

  /** The name of one of the caller's images, from its name or ARN. */
  imageName(caller: Caller, identifier: string): string {
    const arn = this.parse(identifier);
    const name = arn ? arn.id : identifier;
    if (!IMAGE_NAME.test(name)) throw invalid(`Image name '${name}' must be 1-64 characters of [a-zA-Z0-9-_].`);
    if (arn && (arn.type !== 'microvm-image' || arn.region !== this.region || arn.account !== caller.tenant.accountId)) {
      throw imageNotFound(identifier);
    }
    return name;
  }

  /** The name of a managed base image, from its name or ARN (account `aws`). */
  managedImageName(identifier: string): string {
    const arn = this.parse(identifier);
    const name = arn ? arn.id : identifier;
    if (!IMAGE_NAME.test(name)) throw invalid(`Managed image name '${name}' must be 1-64 characters of [a-zA-Z0-9-_].`);
    if (arn && (arn.type !== 'microvm-image' || arn.region !== this.region || arn.account !== MANAGED_ACCOUNT)) {
      throw new CubbyError('IMAGE_BASE_NOT_FOUND', `Managed MicroVM image '${identifier}' not found.`, {
        details: { resourceType: 'ManagedMicrovmImage', resourceId: identifier },
      });
    }
    return name;
  }

  /** The id of one of the caller's microVMs, from its id or ARN. */
  microvmId(caller: Caller, identifier: string): string {
    const arn = this.parse(identifier);
    const id = arn ? arn.id : identifier;
    if (!MICROVM_ID.test(id)) throw invalid(`MicroVM id '${id}' must be 1-128 characters of [a-zA-Z0-9-_].`);
    if (arn && (arn.type !== 'microvm' || arn.region !== this.region || arn.account !== caller.tenant.accountId)) {
      throw microvmNotFound(identifier);
    }
    return id;
  }

  /** What a tagging ARN names, as the core's TagsService takes it: an image by name, a microVM by id. */
  taggable(caller: Caller, resource: string): { kind: ResourceKind; key: string } {
    const arn = this.parse(resource);
    if (!arn) throw invalid(`Resource '${resource}' must be an ARN.`);
    return arn.type === 'microvm-image'
      ? { kind: 'image', key: this.imageName(caller, resource) }
      : { kind: 'microvm', key: this.microvmId(caller, resource) };
  }
}
