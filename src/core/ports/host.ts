/** What the core may learn about the host it runs on (the idle tiers' memory watermark). */
export interface HostMemoryPort {
  /** Memory the host can still hand out without swapping (Linux: MemAvailable), in bytes. */
  availableBytes(): Promise<number>;
}
