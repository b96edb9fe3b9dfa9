/**
 * `./cubby bench`: every benchmark, printed as medians beside raw runsc doing the same work.
 * CUBBY_BENCH_REPS sets repetitions (default 7); CUBBY_BENCH_ONLY=runtime,launch,... picks some.
 */
import { runtimeBench } from './runtime.bench.js';
import { testRootfs } from '../test/support/rootfs.js';

const reps = Number(process.env.CUBBY_BENCH_REPS ?? 7);
const only = new Set((process.env.CUBBY_BENCH_ONLY ?? 'runtime').split(','));

const rootfs = await testRootfs();
console.log(`# Cubby benchmarks (${new Date().toISOString()}, ${reps} repetitions, rootfs ${rootfs})`);
if (only.has('runtime')) await runtimeBench(rootfs, reps);
