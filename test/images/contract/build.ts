/**
 * The image builder contract (ImageBuilder): a Dockerfile on a managed base builds into a rootfs
 * at the output path with its COPY'd files and RUN output, the config its instructions declare,
 * the base it was built on, its size, and the log (also streamed); a failing RUN is BUILD_FAILED
 * with the log in its details and no output left; requests that cannot build are refused before
 * anything is made. A real build is slow: the one success and the one failure are each built once
 * and shared by the tests that look at them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BuiltImage, ImageBuilder } from '../../../src/core/ports/images.js';
import { isCubbyError, type CubbyError } from '../../../src/errors/index.js';

export interface BuildFixture {
  builder: ImageBuilder;
  /** A managed base this builder can build on. */
  base: string;
  /** A build context holding these files (relative path -> text); returns its directory. */
  context(files: Record<string, string>): Promise<string>;
  /** A fresh path (in the builder's filesystem) that does not exist yet. */
  output(): string;
  /** Writes a file, creating its directories. */
  put(file: string, text: string): Promise<void>;
  read(file: string): Promise<string | undefined>;
  exists(p: string): Promise<boolean>;
  close(): Promise<void>;
}

const HELLO = 'hello from the build context\n';
const FAIL_MARK = 'contract-failing-step';

async function rejectsCode(p: Promise<unknown>, code: string, what: string): Promise<CubbyError> {
  let err: CubbyError | undefined;
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isCubbyError(e), `${what}: expected ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `${what}: ${e.message}`);
    err = e;
    return true;
  });
  return err as CubbyError;
}

export function runBuildContract(name: string, make: () => Promise<BuildFixture>): void {
  describe(`image builder contract: ${name}`, { timeout: 15 * 60_000 }, () => {
    let fx: BuildFixture;
    before(async () => {
      fx = await make();
    });
    after(() => fx.close());

    let success: Promise<{ built: BuiltImage; out: string; streamed: string[] }> | undefined;
    /** The one successful build, made on first use. */
    const built = () => {
      success ??= (async () => {
        const ctx = await fx.context({
          Dockerfile: [
            `FROM ${fx.base}`,
            'WORKDIR /app',
            'COPY hello.txt /app/hello.txt',
            'RUN echo built-by-run > /app/built.txt',
            'ENV GREETING=hi',
            'EXPOSE 8080',
            'CMD ["sh", "-c", "cat /app/hello.txt"]',
            '',
          ].join('\n'),
          'hello.txt': HELLO,
        });
        const out = fx.output();
        const streamed: string[] = [];
        const b = await fx.builder.build({ contextDir: ctx, base: { name: fx.base }, outputDir: out, onLog: (l) => streamed.push(l) });
        return { built: b, out, streamed };
      })();
      return success;
    };

    let failure: Promise<{ err: CubbyError; out: string; streamed: string[] }> | undefined;
    /** The one failing build (a RUN step exits 7), made on first use. */
    const failed = () => {
      failure ??= (async () => {
        const ctx = await fx.context({ Dockerfile: `FROM ${fx.base}\nRUN echo ${FAIL_MARK}; exit 7\nCMD ["true"]\n` });
        const out = fx.output();
        const streamed: string[] = [];
        const err = await rejectsCode(
          fx.builder.build({ contextDir: ctx, base: { name: fx.base }, outputDir: out, onLog: (l) => streamed.push(l) }),
          'BUILD_FAILED',
          'a failing RUN step',
        );
        return { err, out, streamed };
      })();
      return failure;
    };

    test("a build writes the rootfs at the output path: COPY'd files and what RUN wrote", async () => {
      const { built: b, out } = await built();
      assert.equal(b.rootfs, out);
      assert.equal(await fx.read(`${out}/app/hello.txt`), HELLO);
      assert.equal(await fx.read(`${out}/app/built.txt`), 'built-by-run\n');
      assert.ok(b.sizeBytes > 0);
      assert.ok(b.durationMs >= 0);
    });

    test('the built image carries the config its Dockerfile declares and the base it was built on', async () => {
      const { built: b } = await built();
      assert.deepEqual(b.config.cmd, ['sh', '-c', 'cat /app/hello.txt']);
      assert.deepEqual(b.config.entrypoint, []);
      assert.equal(b.config.workdir, '/app');
      assert.equal(b.config.env.GREETING, 'hi');
      assert.deepEqual(b.config.exposedPorts, [8080]);
      assert.equal(b.base.name, fx.base);
      assert.match(b.base.version, /^\d+\.\d+$/);
    });

    test('the log is returned whole and streamed line by line as it is made', async () => {
      const { built: b, streamed } = await built();
      assert.ok(b.log.trim().length > 0);
      assert.ok(streamed.length > 0);
      for (const l of streamed) assert.ok(b.log.includes(l), `streamed line in the log: ${l}`);
    });

    test("a failing RUN step is BUILD_FAILED with the log (the step's output in it) and leaves no output", async () => {
      const { err, out, streamed } = await failed();
      const log = err.details?.log;
      assert.equal(typeof log, 'string');
      // A line of the step's own output (the step's command line holds the mark too, but not alone).
      const isOutput = (l: string) => l.trim() === FAIL_MARK;
      assert.ok(String(log).split('\n').some(isOutput), `the step's output is in the log:\n${String(log).slice(-2000)}`);
      assert.ok(streamed.some(isOutput), 'and was streamed');
      assert.equal(await fx.exists(out), false, 'no output left behind');
    });

    test('requests that cannot build are refused before anything is made', async () => {
      const good = await fx.context({ Dockerfile: `FROM ${fx.base}\nCMD ["true"]\n` });
      const taken = fx.output();
      await fx.put(`${taken}/keep.txt`, 'mine');
      await rejectsCode(
        fx.builder.build({ contextDir: good, base: { name: fx.base }, outputDir: taken }),
        'CUBBY_VALIDATION',
        'an existing output',
      );
      assert.equal(await fx.read(`${taken}/keep.txt`), 'mine', 'an existing output is left alone');

      const outs: string[] = [];
      const out = () => {
        const o = fx.output();
        outs.push(o);
        return o;
      };
      await rejectsCode(
        fx.builder.build({ contextDir: await fx.context({ 'main.py': 'x' }), base: { name: fx.base }, outputDir: out() }),
        'DOCKERFILE_MISSING',
        'no Dockerfile',
      );
      await rejectsCode(
        fx.builder.build({ contextDir: good, base: { name: 'no-such-base' }, outputDir: out() }),
        'IMAGE_BASE_NOT_FOUND',
        'an unknown base',
      );
      await rejectsCode(
        fx.builder.build({
          contextDir: await fx.context({ Dockerfile: `FROM ${fx.base}\nADD http://127.0.0.1:9/x /x\n` }),
          base: { name: fx.base },
          outputDir: out(),
        }),
        'DOCKERFILE_INVALID',
        'ADD from a URL',
      );
      for (const o of outs) assert.equal(await fx.exists(o), false, o);
    });
  });
}
