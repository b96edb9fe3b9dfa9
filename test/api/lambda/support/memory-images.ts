/** The in-memory ImagesService (test-only; see memory-core.ts). */
import type { Image, ImageBuild, ImageSettings, ImageVersion } from '../../../../src/core/model.js';
import type { Caller, CreateImageInput, ImagesService } from '../../../../src/core/services.js';
import { CubbyError } from '../../../../src/errors/index.js';
import { idempotent, lowerAlnum, paginate, tagKey, type MemoryState } from './memory-store.js';

/** A codeArtifact URI containing this word makes the build fail (to exercise FAILED states). */
export const FAILING_ARTIFACT_MARK = 'fail-build';

export function memoryImages(state: MemoryState): ImagesService {
  const own = (caller: Caller) => state.images.filter((i) => i.tenantId === caller.tenant.id);
  const find = (caller: Caller, name: string): Image => {
    const image = own(caller).find((i) => i.name === name);
    if (!image) throw new CubbyError('IMAGE_NOT_FOUND', `MicroVM image '${name}' not found.`, { details: { resourceType: 'MicrovmImage', resourceId: name } });
    return image;
  };
  const versionsOf = (image: Image) => state.versions.filter((v) => v.imageId === image.id);
  const findVersion = (caller: Caller, name: string, version: string): ImageVersion => {
    const v = versionsOf(find(caller, name)).find((x) => x.version === version);
    if (!v) throw new CubbyError('IMAGE_VERSION_NOT_FOUND', `Version '${version}' of '${name}' not found.`);
    return v;
  };
  const inUse = (image: Image, version?: string) => state.microvms.some((m) => m.imageId === image.id
    && m.state !== 'TERMINATED' && (version === undefined || m.imageVersion === version));

  /** "Builds" at once: SUCCESSFUL unless the artifact says otherwise. */
  function addVersion(caller: Caller, image: Image, version: string, settings: ImageSettings): ImageVersion {
    state.calls.push('images.build');
    const base = state.managed.find((m) => m.name === settings.baseImage);
    if (!base) throw new CubbyError('IMAGE_BASE_NOT_FOUND', `Managed image '${settings.baseImage}' not found.`);
    const fails = settings.codeArtifactUri.includes(FAILING_ARTIFACT_MARK);
    const now = new Date();
    const v: ImageVersion = {
      imageId: image.id, tenantId: caller.tenant.id, version, settings,
      state: fails ? 'FAILED' : 'SUCCESSFUL', status: 'ACTIVE', createdAt: now, updatedAt: now,
      ...(fails ? { stateReason: 'Dockerfile build failed' } : {}),
    };
    const build: ImageBuild = {
      id: `b-${lowerAlnum(12)}`, imageId: image.id, tenantId: caller.tenant.id, version,
      state: fails ? 'FAILED' : 'SUCCESSFUL', createdAt: now, updatedAt: now,
      ...(fails ? { stateReason: 'Dockerfile build failed' } : { memorySnapshotBytes: 1024, diskSnapshotBytes: 2048, codeInstallBytes: 512 }),
    };
    state.versions.push(v);
    state.builds.push(build);
    if (fails) image.latestFailedVersion = version;
    else image.latestActiveVersion = version;
    image.updatedAt = now;
    return v;
  }

  return {
    async create(caller, input: CreateImageInput) {
      state.calls.push('images.create');
      return idempotent(state, caller, 'createImage', input.clientToken, { ...input, clientToken: undefined }, () => {
        if (own(caller).some((i) => i.name === input.name)) {
          throw new CubbyError('IMAGE_EXISTS', `MicroVM image '${input.name}' already exists.`, { details: { resourceType: 'MicrovmImage', resourceId: input.name } });
        }
        const image: Image = { id: `img-${lowerAlnum(16)}`, tenantId: caller.tenant.id, name: input.name, state: 'CREATING', createdAt: new Date() };
        state.images.push(image);
        try {
          const version = addVersion(caller, image, '1.0', input.settings);
          image.state = version.state === 'SUCCESSFUL' ? 'CREATED' : 'CREATE_FAILED';
          if (input.tags) state.tags.set(tagKey(caller.tenant.id, 'image', image.id), { ...input.tags });
          return { image: { ...image }, version };
        } catch (e) {
          state.images.splice(state.images.indexOf(image), 1);
          throw e;
        }
      });
    },
    async update(caller, name, settings, clientToken) {
      state.calls.push('images.update');
      return idempotent(state, caller, `updateImage/${name}`, clientToken, settings, () => {
        const image = find(caller, name);
        const majors = versionsOf(image).map((v) => v.version.split('.').map(Number) as [number, number]);
        const [major, minor] = majors.reduce((a, b) => (b[0] > a[0] || (b[0] === a[0] && b[1] > a[1]) ? b : a), [1, -1]);
        const version = addVersion(caller, image, `${major}.${minor + 1}`, settings);
        image.state = version.state === 'SUCCESSFUL' ? 'UPDATED' : 'UPDATE_FAILED';
        return { image: { ...image }, version };
      });
    },
    async delete(caller, name) {
      state.calls.push('images.delete');
      const image = find(caller, name);
      if (inUse(image)) throw new CubbyError('IMAGE_IN_USE', `MicroVM image '${name}' is used by microVMs.`, { details: { resourceType: 'MicrovmImage', resourceId: name } });
      state.images.splice(state.images.indexOf(image), 1);
      state.versions = state.versions.filter((v) => v.imageId !== image.id);
      state.tags.delete(tagKey(caller.tenant.id, 'image', image.id));
      return { ...image, state: 'DELETED' };
    },
    async get(caller, name) {
      return { ...find(caller, name) };
    },
    async list(caller, page) {
      const items = own(caller).filter((i) => page.nameFilter === undefined || i.name.includes(page.nameFilter));
      return paginate(items.map((i) => ({ ...i })), page);
    },
    async getVersion(caller, name, version) {
      return findVersion(caller, name, version);
    },
    async listVersions(caller, name, page) {
      return paginate(versionsOf(find(caller, name)), page);
    },
    async setVersionStatus(caller, name, version, status) {
      state.calls.push('images.setVersionStatus');
      const v = findVersion(caller, name, version);
      v.status = status;
      v.updatedAt = new Date();
      return v;
    },
    async deleteVersion(caller, name, version) {
      state.calls.push('images.deleteVersion');
      const image = find(caller, name);
      const v = findVersion(caller, name, version);
      if (inUse(image, version)) throw new CubbyError('IMAGE_IN_USE', `Version '${version}' is used by microVMs.`);
      state.versions.splice(state.versions.indexOf(v), 1);
      if (image.latestActiveVersion === version) delete image.latestActiveVersion;
      return { ...v, state: 'DELETED' };
    },
    async getBuild(caller, name, version, buildId) {
      const v = findVersion(caller, name, version);
      const build = state.builds.find((b) => b.imageId === v.imageId && b.version === version && b.id === buildId);
      if (!build) throw new CubbyError('IMAGE_BUILD_NOT_FOUND', `Build '${buildId}' not found.`);
      return build;
    },
    async listBuilds(caller, name, version, page) {
      const v = findVersion(caller, name, version);
      return paginate(state.builds.filter((b) => b.imageId === v.imageId && b.version === version), page);
    },
    async buildLog() {
      return '';
    },
    async listManaged(page) {
      return paginate(state.managed, page);
    },
    async getManaged(name) {
      const info = state.managed.find((m) => m.name === name);
      if (!info) throw new CubbyError('IMAGE_BASE_NOT_FOUND', `Managed image '${name}' not found.`);
      return info;
    },
  };
}
