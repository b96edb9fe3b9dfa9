/**
 * The code interpreter end to end with the REAL `@e2b/code-interpreter` (2.8.0) against a real
 * daemon: the tenant's `code-interpreter-v1` built on first use (warm kernels in its snapshot),
 * python state, streaming, errors, rich results (DataFrame HTML, a matplotlib PNG decoded, SVG,
 * markdown, JSON, LaTeX), JavaScript (ESM import, top-level await), TypeScript and bash contexts,
 * context restart and delete, a client timeout that interrupts the kernel, environment variables,
 * state across pause/connect, another tenant refused, and the README's example run as written.
 * One sandbox serves most cases. Header routing over plain HTTP (E2B_SANDBOX_URL = the gateway).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NotFoundError, Sandbox, TimeoutError, type OutputMessage } from '@e2b/code-interpreter';
import { startTestDaemon, type TestDaemon } from '../support/daemon.js';
import { runReadmeExample, terminateTenantMicrovms } from './support.js';
import { ensureTestBaseImage } from '../support/base-image.js';
import { assertNoLeaks, hostResources } from '../support/leaks.js';

/** Width and height from a PNG's IHDR chunk (after the 8-byte signature and the chunk header). */
function pngSize(b64: string): { width: number; height: number } {
  const b = Buffer.from(b64, 'base64');
  assert.deepEqual([...b.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(b.subarray(12, 16).toString('latin1'), 'IHDR');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

describe('code interpreter with the real @e2b/code-interpreter', { timeout: 1_800_000 }, () => {
  let d: TestDaemon;
  let key = '';
  let baseline: Set<string>;
  const created = new Set<string>();
  const opts = () => ({ apiKey: key, apiUrl: d.apiUrl, domain: d.config.domain, sandboxUrl: d.gatewayUrl, requestTimeoutMs: 120_000 });
  let sbx: Sandbox;

  before(async () => {
    baseline = await hostResources();
    await ensureTestBaseImage('debian-12-code-interpreter');
    d = await startTestDaemon();
    const t = await d.tenant('e2b-ci');
    key = (await d.store.createE2bKey(t.tenantId)).apiKey;
  });

  after(async () => {
    for (const id of created) await Sandbox.kill(id, opts()).catch((e: unknown) => console.error(`kill ${id}: ${String(e)}`));
    await terminateTenantMicrovms(d, key);
    await d?.destroy();
    await assertNoLeaks(baseline, [], 10_000);
  });

  test('Sandbox.create() builds code-interpreter-v1 once; the first cell finds warm kernels; python keeps state; envs apply', async () => {
    // The template's first build (a 1.5 GB base, two kernels warmed up under gVisor) can outlast
    // undici's 300 s wait for response headers on a busy host; the build goes on without the
    // client, and a retry joins it.
    const deadline = Date.now() + 1_200_000;
    for (;;) {
      try {
        sbx = await Sandbox.create({ ...opts(), requestTimeoutMs: 900_000, envs: { SANDBOX_VAR: 'from-create' }, timeoutMs: 1_200_000 });
        break;
      } catch (e) {
        if (!/fetch failed|timed out/i.test(String(e)) || Date.now() > deadline) throw e;
      }
    }
    created.add(sbx.sandboxId);
    const owner = await d.store.getE2bKeyForAuth(key);
    assert.ok(owner);
    const versions = await d.core.services.images.listVersions({ tenant: owner.tenant }, 'code-interpreter-v1', {});
    assert.equal(versions.items.length, 1, 'one build of code-interpreter-v1');

    // Warm: pandas was imported before the snapshot, and this is the kernel's first counted cell.
    const first = await sbx.runCode("import sys; ('pandas' in sys.modules, 'numpy' in sys.modules)");
    assert.equal(first.error, undefined);
    assert.equal(first.text, '(True, True)');
    assert.equal(first.executionCount, 1);

    assert.equal((await sbx.runCode('1+1')).text, '2');
    await sbx.runCode('import os\nos.chdir("/tmp")\nx = 41');
    const st = await sbx.runCode('x + 1, os.getcwd()');
    assert.equal(st.text, "(42, '/tmp')");
    assert.equal(st.executionCount, 4, 'execution_count advances');
    await sbx.runCode('os.chdir(os.path.expanduser("~"))');

    // Environment: the create call's envs in every context; per-execution envs only for that cell.
    const env = await sbx.runCode('import os; (os.environ.get("SANDBOX_VAR"), os.environ.get("CELL_VAR"), os.environ["HOME"])', {
      envs: { CELL_VAR: 'just-this-cell' },
    });
    assert.equal(env.text, "('from-create', 'just-this-cell', '/home/user')");
    assert.equal((await sbx.runCode('import os; os.environ.get("CELL_VAR")')).text, undefined, 'None has no text');
    assert.equal((await sbx.runCode('print(os.environ.get("CELL_VAR"))')).logs.stdout.join(''), 'None\n');
    assert.equal(
      (await sbx.runCode('echo $SANDBOX_VAR/$CELL_VAR', { language: 'bash', envs: { CELL_VAR: 'b' } })).logs.stdout.join(''),
      'from-create/b\n',
    );
    assert.equal((await sbx.runCode('process.env.SANDBOX_VAR', { language: 'javascript' })).text, 'from-create');
  });

  test('stdout and stderr stream while the cell runs; an exception comes back with its traceback', async () => {
    const seen: { line: string; at: number }[] = [];
    const errs: OutputMessage[] = [];
    const r = await sbx.runCode(
      'import sys, time\nprint("first", flush=True)\ntime.sleep(2)\nprint("oops", file=sys.stderr)\nprint("last")',
      {
        onStdout: (m) => void seen.push({ line: m.line, at: Date.now() }),
        onStderr: (m) => void errs.push(m),
      },
    );
    const done = Date.now();
    assert.deepEqual(
      seen.map((s) => s.line),
      ['first\n', 'last\n'],
    );
    assert.ok(done - seen[0]!.at >= 1500, `"first" arrived ${done - seen[0]!.at} ms before the end: it streamed`);
    assert.deepEqual(
      errs.map((e) => e.line),
      ['oops\n'],
    );
    assert.deepEqual(r.logs.stdout, ['first\n', 'last\n']);

    const e = await sbx.runCode('def f():\n    return 1/0\nf()');
    assert.ok(e.error);
    assert.equal(e.error.name, 'ZeroDivisionError');
    assert.equal(e.error.value, 'division by zero');
    // eslint-disable-next-line no-control-regex
    const plain = e.error.traceback.replace(/\x1b\[[0-9;]*m/g, ''); // Jupyter colours its tracebacks
    assert.match(plain, /ZeroDivisionError/);
    assert.match(plain, /return 1\/0/);

    // A failure in the service after the stream began (this env value cannot be set: NUL) comes
    // back as the cell's error in a well-formed stream, and the context goes on working.
    const bad = await sbx.runCode('1', { envs: { BAD_VAR: 'a\0b' } });
    assert.ok(bad.error, 'an error, not a broken stream');
    assert.match(bad.error.value, /null/);
    assert.ok(bad.error.name && bad.error.traceback);
    assert.equal((await sbx.runCode('x + 1')).text, '42');
  });

  test('rich results: a DataFrame as HTML, a matplotlib figure as a PNG of its size, SVG, markdown, JSON, LaTeX', async () => {
    const df = await sbx.runCode('import pandas as pd\npd.DataFrame({"city": ["Oslo", "Lima"], "temp": [3, 19]})');
    assert.equal(df.results.length, 1);
    const main = df.results[0]!;
    assert.equal(main.isMainResult, true);
    assert.match(main.html ?? '', /<table[\s\S]*Oslo[\s\S]*Lima/);
    assert.match(main.text ?? '', /city\s+temp/);

    const plot = await sbx.runCode(
      [
        'import matplotlib.pyplot as plt',
        '%config InlineBackend.print_figure_kwargs = {"bbox_inches": None}',
        'fig, ax = plt.subplots(figsize=(4, 3), dpi=100)',
        'ax.plot([1, 2, 3], [2, 4, 1])',
        'plt.show()',
      ].join('\n'),
    );
    assert.equal(plot.error, undefined);
    const png = plot.results.find((x) => x.png);
    assert.ok(png, `a PNG result among ${JSON.stringify(plot.results.map((x) => x.formats()))}`);
    assert.equal(png.isMainResult, false, 'a display, not the cell value');
    assert.deepEqual(pngSize(png.png!), { width: 400, height: 300 });

    const rich = await sbx.runCode(
      [
        'from IPython.display import SVG, Markdown, JSON, Latex, display',
        'display(SVG(\'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="4"/></svg>\'))',
        'display(Markdown("**bold**"))',
        'display(JSON({"a": [1, 2]}))',
        'Latex(r"$\\alpha$")',
      ].join('\n'),
    );
    assert.equal(rich.error, undefined);
    assert.match(rich.results[0]!.svg ?? '', /<circle/);
    assert.equal(rich.results[1]!.markdown, '**bold**');
    assert.deepEqual(rich.results[2]!.json, { a: [1, 2] });
    assert.equal(rich.results[3]!.latex, '$\\alpha$');
    assert.equal(rich.results[3]!.isMainResult, true);
  });

  test('JavaScript (ES module import, top-level await, state), TypeScript and bash contexts', async () => {
    const js = await sbx.createCodeContext({ language: 'javascript' });
    assert.equal(js.language, 'javascript');
    assert.equal(js.cwd, '/home/user');
    const a = await sbx.runCode(
      'import { createHash } from "node:crypto";\nconst wait = (ms) => new Promise((r) => setTimeout(r, ms));\nawait wait(10);\nconst h = createHash("sha256").update("x").digest("hex").slice(0, 8);\nconsole.log("hash", h);\nh',
      { context: js },
    );
    assert.equal(a.error, undefined, JSON.stringify(a.error));
    assert.deepEqual(a.logs.stdout, ['hash 2d711642\n']);
    assert.equal(a.text, '2d711642');
    assert.equal((await sbx.runCode('[h.length, typeof wait]', { context: js })).text, "[ 8, 'function' ]");
    const jsErr = await sbx.runCode('null.x', { context: js });
    assert.equal(jsErr.error?.name, 'TypeError');

    const ts = await sbx.createCodeContext({ language: 'typescript' });
    const t = await sbx.runCode(
      'interface P { n: number }\nconst p: P = { n: 20 };\nfunction twice(v: number): number { return v * 2 }\ntwice(p.n) + 2',
      {
        context: ts,
      },
    );
    assert.equal(t.error, undefined, JSON.stringify(t.error));
    assert.equal(t.text, '42');

    const sh = await sbx.createCodeContext({ language: 'bash', cwd: '/tmp' });
    await sbx.runCode('mkdir -p work && cd work && N=7', { context: sh });
    const b = await sbx.runCode('echo "$N in $(pwd)"; echo warn >&2', { context: sh });
    assert.deepEqual(b.logs.stdout, ['7 in /tmp/work\n']);
    assert.deepEqual(b.logs.stderr, ['warn\n']);

    const ids = (await sbx.listCodeContexts()).map((c) => c.id);
    for (const c of [js, ts, sh]) assert.ok(ids.includes(c.id));
  });

  test('a context restarts (its state is gone, it still runs) and is deleted (then unknown)', async () => {
    const c = await sbx.createCodeContext({ language: 'python' });
    await sbx.runCode('y = 5', { context: c });
    await sbx.restartCodeContext(c);
    const after = await sbx.runCode('y', { context: c });
    assert.equal(after.error?.name, 'NameError');
    assert.equal((await sbx.runCode('2 * 21', { context: c })).text, '42');
    await sbx.removeCodeContext(c);
    assert.ok(!(await sbx.listCodeContexts()).some((x) => x.id === c.id));
    // A short request timeout: the client (2.8.0) leaves its request timer running when the answer is an error,
    // which would keep this test process alive for the whole timeout after the suite.
    await assert.rejects(sbx.runCode('1', { context: c, requestTimeoutMs: 3000 }), NotFoundError);
  });

  test('a client that times out interrupts the kernel; the next cell in that context runs, with its state', async () => {
    const c = await sbx.createCodeContext({ language: 'python' });
    await sbx.runCode('kept = "yes"', { context: c });
    await assert.rejects(sbx.runCode('import time\nwhile True: time.sleep(0.05)', { context: c, timeoutMs: 2000 }), TimeoutError);
    const started = Date.now();
    const next = await sbx.runCode('kept', { context: c, timeoutMs: 20_000 });
    assert.equal(next.text, "'yes'");
    assert.ok(Date.now() - started < 15_000, 'the loop was interrupted, not waited out');
    // A busy JavaScript loop too.
    const js = await sbx.createCodeContext({ language: 'javascript' });
    await sbx.runCode('let kept = 1', { context: js });
    await assert.rejects(sbx.runCode('while (true) {}', { context: js, timeoutMs: 2000 }), TimeoutError);
    assert.equal((await sbx.runCode('kept + 1', { context: js, timeoutMs: 20_000 })).text, '2');
  });

  test('kernels and their state survive pause and connect', async () => {
    await sbx.runCode('survivor = [1, 2, 3]\nimport numpy as np\narr = np.arange(5)');
    await sbx.runCode('let jsSurvivor = "still here"', { language: 'javascript' });
    assert.equal(await sbx.pause(), true);
    const again = await Sandbox.connect(sbx.sandboxId, opts());
    const r = await again.runCode('sum(survivor) + int(arr.sum())');
    assert.equal(r.text, '16');
    assert.equal((await again.runCode('jsSurvivor', { language: 'javascript' })).text, 'still here');
    sbx = again;
  });

  test("another tenant cannot reach this interpreter; /execute needs this sandbox's access token", async () => {
    const tb = await d.tenant('e2b-ci-b');
    const keyB = (await d.store.createE2bKey(tb.tenantId)).apiKey;
    await assert.rejects(Sandbox.connect(sbx.sandboxId, { ...opts(), apiKey: keyB }));
    assert.equal(await Sandbox.kill(sbx.sandboxId, { ...opts(), apiKey: keyB }), false);
    const execute = (token?: string) =>
      fetch(`${d.gatewayUrl}/execute`, {
        method: 'POST',
        headers: {
          'E2b-Sandbox-Id': sbx.sandboxId,
          'E2b-Sandbox-Port': '49999',
          'Content-Type': 'application/json',
          ...(token ? { 'X-Access-Token': token } : {}),
        },
        body: JSON.stringify({ code: 'print("ran with " + "the token")' }),
      });
    // Tenant B's own valid token (from a cheap `base` sandbox of B) is refused here too.
    const sbxB = await Sandbox.create('base', { ...opts(), apiKey: keyB, requestTimeoutMs: 900_000 });
    try {
      const tokenB = (sbxB as unknown as { envdAccessToken?: string }).envdAccessToken;
      assert.ok(tokenB, "B's sandbox has an access token");
      assert.match(await sbxB.files.read('/etc/os-release'), /Debian/, "B's token is valid on B's sandbox");
      for (const token of [undefined, 'e2b-token-of-someone-else', tokenB]) {
        const r = await execute(token);
        assert.ok(r.status === 401 || r.status === 403, `status ${r.status}`);
      }
    } finally {
      await Sandbox.kill(sbxB.sandboxId, { ...opts(), apiKey: keyB });
    }
    const own = (sbx as unknown as { envdAccessToken?: string }).envdAccessToken;
    const ok = await execute(own);
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /ran with the token/);
  });

  test("the README's code-interpreter example runs as written", async () => {
    const { code, out } = await runReadmeExample('code-interpreter-example', d, key);
    assert.equal(code, 0, out);
    assert.match(out, /mean 2\.5/);
    assert.match(out, /chart: \d+ bytes of PNG/);
  });
});
