/**
 * The E2B bench's file client, run as its own process (as load-worker.ts is) so it never shares
 * the daemon's event loop: in the bench's own process the gateway would also carry the client's
 * fetch work, which a real client does elsewhere, and the via-gateway column would be charged for
 * both. `node file-round-worker.js '<FileRoundSpec JSON>'` runs `reps` rounds, each a `size`-byte
 * upload then download through the gateway and then straight to the agent, and prints one JSON
 * FileRoundResult line (MiB/s per transfer).
 */
export interface FileRoundSpec {
  gateway: { base: string; headers: Record<string, string> };
  direct: { base: string };
  reps: number;
  size: number;
}

export interface FileRoundResult {
  gatewayUp: number[];
  gatewayDown: number[];
  directUp: number[];
  directDown: number[];
}

const MiB = 1024 * 1024;

/** One upload then download of `body` against `base`, in MiB/s each (the fetch client, as the SDK's). */
async function fileRound(base: string, headers: Record<string, string>, body: Buffer, name: string): Promise<[number, number]> {
  const url = `${base}/files?path=/home/user/${name}&username=user`;
  let t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/octet-stream' }, body });
  if (!res.ok) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
  await res.arrayBuffer();
  const up = performance.now() - t0;
  t0 = performance.now();
  const r = await fetch(url, { headers });
  if (!r.ok) throw new Error(`download answered ${r.status}`);
  const n = (await r.arrayBuffer()).byteLength;
  const down = performance.now() - t0;
  if (n !== body.length) throw new Error(`downloaded ${n} bytes of ${body.length}`);
  return [body.length / MiB / (up / 1000), n / MiB / (down / 1000)];
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as FileRoundSpec;
  const body = Buffer.alloc(spec.size, 7);
  const out: FileRoundResult = { gatewayUp: [], gatewayDown: [], directUp: [], directDown: [] };
  // Untimed: opens both keep-alive connections.
  await fileRound(spec.gateway.base, spec.gateway.headers, body, 'gw.bin');
  await fileRound(spec.direct.base, {}, body, 'direct.bin');
  for (let i = 0; i < spec.reps; i++) {
    const [gu, gd] = await fileRound(spec.gateway.base, spec.gateway.headers, body, 'gw.bin');
    const [du, dd] = await fileRound(spec.direct.base, {}, body, 'direct.bin');
    out.gatewayUp.push(gu);
    out.gatewayDown.push(gd);
    out.directUp.push(du);
    out.directDown.push(dd);
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
