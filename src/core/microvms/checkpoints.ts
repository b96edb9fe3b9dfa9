/** Where a microVM's suspend checkpoints live: <checkpointRoot>/<id>/{current,next}. */
import type { Microvm } from '../model.js';
import type { DiskPort } from '../ports/disk.js';

/** `current` is the complete checkpoint; `next` the one being written (it replaces current once whole). */
export function checkpointDir(disk: Pick<DiskPort, 'join'>, root: string, id: string, which: 'current' | 'next'): string {
  return disk.join(root, id, which);
}

/** The checkpoint a suspended microVM resumes from (the recorded path, else where it is written). */
export function checkpointOf(disk: Pick<DiskPort, 'join'>, root: string, m: Pick<Microvm, 'id' | 'checkpointPath'>): string {
  return m.checkpointPath ?? checkpointDir(disk, root, m.id, 'current');
}
