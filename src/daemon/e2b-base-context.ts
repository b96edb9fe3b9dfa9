/** Stores the build context of E2B's `base` template as one of the tenant's uploads (a zip). */
import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import yazl from 'yazl';
import { UPLOAD_SCHEME, type TenantArtifacts } from '../images/artifact/tenant-artifacts.js';

export function uploadContext(artifacts: TenantArtifacts): (tenantId: string, files: Record<string, string>) => Promise<string> {
  return async (tenantId, files) => {
    const id = `e2b-base-${randomBytes(8).toString('hex')}`;
    const target = artifacts.uploadPath(tenantId, id);
    await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    const zip = new yazl.ZipFile();
    for (const [name, text] of Object.entries(files)) zip.addBuffer(Buffer.from(text), name);
    zip.end();
    await new Promise<void>((resolve, reject) => {
      zip.outputStream
        .pipe(createWriteStream(target, { mode: 0o600 }))
        .on('close', resolve)
        .on('error', reject);
    });
    return `${UPLOAD_SCHEME}${id}`;
  };
}
