/**
 * resources[].minimumMemoryInMiB -> the core's baseline memory and vCPUs. Several entries are
 * all minimums, so the largest satisfies them all. vCPUs follow memory at 1 vCPU per 2 GiB
 * (the model's 0.5 GB/0.25 vCPU .. 8 GB/4 vCPU baselines), never below 0.25.
 */
export const DEFAULT_MEMORY_MIB = 2048;
const MIB_PER_VCPU = 2048;
const MIN_VCPUS = 0.25;

export function sizeFromResources(resources: ReadonlyArray<{ minimumMemoryInMiB: number }> | undefined): {
  memoryMiB: number;
  vcpus: number;
} {
  const memoryMiB = resources && resources.length > 0 ? Math.max(...resources.map((r) => r.minimumMemoryInMiB)) : DEFAULT_MEMORY_MIB;
  return { memoryMiB, vcpus: Math.max(MIN_VCPUS, memoryMiB / MIB_PER_VCPU) };
}
