/** The few filesystem operations the core needs on its data directory (an adapter does them). */
export interface DiskPort {
  /** Removes a directory tree; quiet if absent. */
  remove(path: string): Promise<void>;
  /** Renames, replacing an existing target directory. */
  replace(from: string, to: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** Total size in bytes of the files under path (0 if absent). */
  size(path: string): Promise<number>;
  ensureDir(path: string): Promise<void>;
  join(...parts: string[]): string;
}
