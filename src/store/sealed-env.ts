/**
 * Image environment variables at rest: sealed with the master key (secret-box.ts), like access
 * key secrets. In a version's settings JSON, `environment` holds the sealed text of the whole
 * map instead of the map; the row's identity is the authenticated data, so a sealed environment
 * copied onto another version does not open. An empty map stays `{}` (nothing to hide, and no
 * master key file is created for it). A clear map (written before sealing existed) still reads
 * as is until the on-open pass seals it (sql/seal-env.ts).
 */
import type { ImageSettings, ImageVersion } from '../core/model.js';
import type { SecretBox } from './secret-box.js';

type Settings = Omit<ImageSettings, 'environment'> & { environment: Record<string, string> | string };

export function environmentAad(tenantId: string, imageId: string, version: string): string {
  return `image-env:${tenantId}/${imageId}/${version}`;
}

/** True for settings whose environment is still clear text and not empty. */
export function hasClearEnvironment(settings: { environment?: unknown }): boolean {
  const env = settings.environment;
  return typeof env === 'object' && env !== null && Object.keys(env).length > 0;
}

/** Settings as stored: a non-empty environment sealed. */
export function sealSettings(settings: ImageSettings, aad: string, box: () => SecretBox): Settings {
  if (!hasClearEnvironment(settings)) return settings;
  return { ...settings, environment: box().seal(JSON.stringify(settings.environment), aad) };
}

/** Settings as read: a sealed environment opened (STORE_SECRET_UNREADABLE with another key). */
export function openSettings(stored: Settings, aad: string, box: () => SecretBox): ImageSettings {
  if (typeof stored.environment !== 'string') return stored as ImageSettings;
  return { ...stored, environment: JSON.parse(box().open(stored.environment, aad)) as Record<string, string> };
}

/** A version record as stored (its environment sealed), and back. */
export function sealVersion(v: ImageVersion, box: () => SecretBox): ImageVersion {
  const settings = sealSettings(v.settings, environmentAad(v.tenantId, v.imageId, v.version), box);
  return { ...v, settings: settings as ImageSettings };
}

export function openVersion(v: ImageVersion, box: () => SecretBox): ImageVersion {
  const settings = openSettings(v.settings as Settings, environmentAad(v.tenantId, v.imageId, v.version), box);
  return settings === v.settings ? v : { ...v, settings };
}
