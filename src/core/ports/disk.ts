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
  /** Appends text to a file (created 0600 with its directory). */
  append(path: string, text: string): Promise<void>;
  /** Reads a text file; undefined when absent. */
  read(path: string): Promise<string | undefined>;
}
