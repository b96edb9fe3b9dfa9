/** Runs both parts of the runtime contract (semantic, isolation) against the gVisor driver with real runsc sandboxes. */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GvisorRuntime } from '../../src/runtime/gvisor/index.js';
import { createLinuxNetwork } from '../../src/network/linux/index.js';
import { runRuntimeIsolationContract, runRuntimeSemanticContract } from './contract.js';
import { testRootfs } from '../support/rootfs.js';
import { TEST_HOST_RANGE } from '../support/test-host.js';
import { addressPolicy } from '../../src/util/address-policy.js';

runRuntimeSemanticContract('gvisor', async () => {
  const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-gvisor-sem-'));
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-gvisor-ck-'));
  const network = await createLinuxNetwork({ addresses: addressPolicy([TEST_HOST_RANGE]) });
  const open = () => new GvisorRuntime({ stateDir, network });
  const runtime = open();
  return {
    runtime,
    rootfs: await testRootfs(),
    scratch,
    reopen: async () => open(),
    async corruptCheckpoint(dir) {
      // Half the memory pages: the size and digest checks both catch it.
      const pages = (await fs.readdir(dir)).find((f) => f.startsWith('pages') && !f.includes('meta')) ?? 'checkpoint.img';
      const fh = await fs.open(path.join(dir, pages), 'r+');
      await fh.truncate(Math.floor((await fh.stat()).size / 2));
      await fh.close();
    },
    async close() {
      await runtime.close();
      await fs.rm(stateDir, { recursive: true, force: true });
      await fs.rm(scratch, { recursive: true, force: true });
    },
  };
});

runRuntimeIsolationContract('gvisor', async () => {
  const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-gvisor-'));
  const rootfs = await testRootfs();
  const network = await createLinuxNetwork({ addresses: addressPolicy([TEST_HOST_RANGE]) });
  // Short, so the bounded-log case waits one trim of 250 ms rather than of the default 2 s.
  const logTrimIntervalMs = 250;
  const open = () => new GvisorRuntime({ stateDir, network, logTrimIntervalMs });
  const runtime = open();
  return {
    runtime,
    rootfs,
    stateDirs: [stateDir],
    logTrimIntervalMs,
    reopen: async () => open(),
    async createFromDoomedProcess(spec) {
      const helper = path.join(path.dirname(fileURLToPath(import.meta.url)), 'support', 'doomed-owner.js');
      const child = spawn(process.execPath, [helper, stateDir, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
      const id = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /created (\w+)/.exec(out);
          if (m?.[1]) resolve(m[1]);
        });
        child.on('exit', (c) => reject(new Error(`owner exited early (${c})`)));
      });
      child.kill('SIGKILL');
      return id;
    },
    async close() {
      await runtime.close();
      await fs.rm(stateDir, { recursive: true, force: true });
    },
  };
});
