/**
 * `./cubby bench`: every benchmark, printed as medians beside raw runsc doing the same work.
 * CUBBY_BENCH_ONLY=runtime,launch,storm,resume,gateway,density,disk,e2b,tiers,interpreter,build,chromium picks some (default: all).
 * CUBBY_BENCH_REPS overrides every benchmark's repetitions
 * (defaults: runtime 7, launch 20, storm 10, resume 12, disk 5, e2b 10, build 2, chromium 5);
 * CUBBY_BENCH_DENSITY sets how many idle microVMs the density benchmark holds (default 10);
 * CUBBY_BENCH_TIERS_N how many frozen microVMs the idle-tiers benchmark holds (default 20).
 */
import { runtimeBench } from './runtime.bench.js';
import { launchBench } from './launch.bench.js';
import { launchStormBench } from './launch-storm.bench.js';
import { resumeBench } from './resume.bench.js';
import { gatewayBench } from './gateway.bench.js';
import { densityBench } from './density.bench.js';
import { diskBench } from './disk.bench.js';
import { e2bBench } from './e2b.bench.js';
import { idleTiersBench } from './idle-tiers.bench.js';
import { codeInterpreterBench } from './code-interpreter.bench.js';
import { buildBench } from './build.bench.js';
import { chromiumBench } from './chromium.bench.js';
import { closeBenchFixture } from './support/cubby-fixture.js';
import { testRootfs } from '../test/support/rootfs.js';

// The SDK's Node 20 end-of-support notice would sit in the middle of the printed tables.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const ALL = ['runtime', 'launch', 'storm', 'resume', 'gateway', 'density', 'disk', 'e2b', 'tiers', 'interpreter', 'build', 'chromium'];
const repsEnv = process.env.CUBBY_BENCH_REPS ? Number(process.env.CUBBY_BENCH_REPS) : undefined;
const only = new Set((process.env.CUBBY_BENCH_ONLY || ALL.join(',')).split(',').map((s) => s.trim()));
for (const name of only) if (!ALL.includes(name)) throw new Error(`unknown benchmark ${name}; choose from ${ALL.join(', ')}`);

const started = performance.now();
const rootfs = await testRootfs();
console.log(`# Cubby benchmarks (${new Date().toISOString()}, rootfs ${rootfs}${repsEnv ? `, ${repsEnv} repetitions` : ''})`);
try {
  if (only.has('runtime')) await runtimeBench(rootfs, repsEnv ?? 7);
  if (only.has('launch')) await launchBench(repsEnv ?? 20);
  if (only.has('storm')) await launchStormBench(repsEnv ?? 10);
  if (only.has('resume')) await resumeBench(repsEnv ?? 12);
  if (only.has('gateway')) await gatewayBench();
  if (only.has('density')) await densityBench(Number(process.env.CUBBY_BENCH_DENSITY ?? 10));
  if (only.has('disk')) await diskBench(rootfs, repsEnv ?? 5);
  if (only.has('e2b')) await e2bBench(repsEnv ?? 10);
  if (only.has('tiers')) await idleTiersBench(repsEnv ?? 10);
  if (only.has('interpreter')) await codeInterpreterBench(repsEnv ?? 8);
  if (only.has('build')) await buildBench(repsEnv ?? 2);
  if (only.has('chromium')) await chromiumBench(repsEnv ?? 5);
} finally {
  await closeBenchFixture();
}
console.log(`\n(all benchmarks took ${((performance.now() - started) / 1000).toFixed(0)} s)`);
