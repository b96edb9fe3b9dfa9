/**
 * An attacker's Dockerfile tries to make the builder fetch a URL from the host's network (here a
 * loopback server standing in for the daemon's loopback-only /metrics or cloud metadata): through
 * the JSON form, ARG and ENV variables, continuations with comments, and heredocs. Each is
 * refused at once with the line and the reason, nothing is recorded, and the server sees nothing.
 * A Dockerfile using ARG/ENV in COPY the honest way still builds.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  GetMicrovmImageCommand,
  ListMicrovmImagesCommand,
  ResourceNotFoundException,
  ValidationException,
  type LambdaMicrovmsClient,
} from '@aws-sdk/client-lambda-microvms';
import { startTestDaemon, type TestDaemon } from '../support/daemon.js';
import { assertNoLeaks, hostResources } from '../support/leaks.js';
import { makeZip } from '../support/zip-writer.js';
import { createImage, waitForVersion } from '../e2e/support.js';

const HOOKS = { port: 9000, microvmHooks: { run: 'ENABLED' }, microvmImageHooks: { ready: 'ENABLED', readyTimeoutInSeconds: 60 } } as const;
const URL_REFUSED = /ADD from a URL is not supported: put the file in the code artifact \(or fetch it in a RUN step\)/;

describe('builds never fetch URLs from the host network', { timeout: 600_000 }, () => {
  let d: TestDaemon;
  let client: LambdaMicrovmsClient;
  let tmp: string;
  let baseline: Set<string>;
  let server: http.Server;
  let port = 0;
  const hits: string[] = [];

  const create = (name: string, uri: string) => createImage(client, name, uri, { hooks: HOOKS });
  const artifact = async (name: string, dockerfile: string, files: Record<string, string> = {}) => {
    const f = path.join(tmp, `${name}.zip`);
    await fs.writeFile(
      f,
      makeZip([{ name: 'Dockerfile', data: dockerfile }, ...Object.entries(files).map(([n, data]) => ({ name: n, data }))]),
    );
    return `file://${f}`;
  };

  before(async () => {
    baseline = await hostResources();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-build-fetch-'));
    server = http.createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      res.end('secret-metrics');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    d = await startTestDaemon();
    client = (await d.tenant('build-fetch')).client;
  });
  after(async () => {
    await new Promise((r) => server?.close(r));
    await d?.destroy();
    await fs.rm(tmp, { recursive: true, force: true });
    await assertNoLeaks(baseline, [], 10_000);
  });

  test('URL sources in every form are refused at once, naming the line and why; nothing is recorded or fetched', async () => {
    // Control: the counting server does count (so the zero below means something).
    await new Promise<void>((r) =>
      http.get(`http://127.0.0.1:${port}/control`, (res) => {
        res.resume();
        res.on('end', r);
      }),
    );
    assert.deepEqual(hits.splice(0), ['GET /control']);
    const u = `http://127.0.0.1:${port}`;
    const cases: Array<[name: string, dockerfile: string, reason: RegExp]> = [
      ['json-form', `FROM debian-12-python\nWORKDIR /app\nADD ["${u}/metrics", "/m"]\n`, /^Dockerfile line 3: /],
      ['arg', `FROM debian-12-python\nARG U=${u}/x\nADD $U /m\n`, /^Dockerfile line 3: /],
      ['env', `FROM debian-12-python\nENV U=${u}/x\nADD \${U} /m\n`, /^Dockerfile line 3: /],
      ['global-arg', `ARG U=${u}/g\nFROM debian-12-python\nARG U\nADD ["$U", "/m"]\n`, /^Dockerfile line 4: /],
      [
        'continuation',
        `FROM debian-12-python\nARG H=127.0.0.1\nADD \\\n  # a comment inside the continuation\n\n  http://$H:${port}/c \\\n  /m\n`,
        /^Dockerfile line 3: /,
      ],
      ['escape-directive', `# escape=\`\nFROM debian-12-python\nADD http:\`/\`/127.0.0.1:${port}/e /m\n`, /^Dockerfile line 3: /],
    ];
    const heredoc = `FROM debian-12-python\nRUN <<EOF\nADD ${u}/h /m\nEOF\n`;
    const misplacedEscape = `# syntax=docker/dockerfile:1\n# escape=\`\nFROM debian-12-python\nRUN echo \`\nADD ${u}/s /m\n`;
    const unsure = `FROM debian-12-python\nARG U\nADD $U /m\n`;
    for (const [name, dockerfile, line] of cases) {
      await expectRefused(name, dockerfile, line, URL_REFUSED);
    }
    await expectRefused('heredoc', heredoc, /^Dockerfile line 2: /, /heredocs \(<<EOF\) are not supported/);
    await expectRefused('misplaced-escape', misplacedEscape, /^Dockerfile line 2: /, /escape directive is only read on the first line/);
    await expectRefused('unsure', unsure, /^Dockerfile line 3: /, /\$U, which Cubby cannot resolve with certainty/);
    const listed = await client.send(new ListMicrovmImagesCommand({}));
    assert.deepEqual(listed.items ?? [], [], 'no refused image is listed');
    // Give a fetch that slipped through time to land before counting.
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(hits, [], 'the builder fetched nothing from the host network');

    async function expectRefused(name: string, dockerfile: string, line: RegExp, reason: RegExp): Promise<void> {
      await assert.rejects(create(name, await artifact(name, dockerfile)), (e: unknown) => {
        assert.ok(e instanceof ValidationException, `${name}: ${String(e)}`);
        assert.match(e.message, line, name);
        assert.match(e.message, reason, name);
        return true;
      });
      await assert.rejects(
        client.send(new GetMicrovmImageCommand({ imageIdentifier: name })),
        ResourceNotFoundException,
        `${name} was recorded`,
      );
    }
  });

  test('ARG and ENV in COPY, resolving to files of the artifact, still build', async () => {
    const app = await fs.readFile(
      path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../test/fixtures/apps/counter/app.py'),
      'utf8',
    );
    const dockerfile = [
      'FROM debian-12-python',
      'ARG SRC=app.py',
      'ENV DEST=/app',
      'WORKDIR $DEST',
      'COPY ["$SRC", "${DEST}/app.py"]',
      'COPY ${SRC:-missing.py} $DEST/copy-of-app.py',
      'RUN test -s /app/copy-of-app.py',
      'CMD ["python3", "-u", "/app/app.py"]',
    ].join('\n');
    await create('honest-vars', await artifact('honest-vars', dockerfile, { 'app.py': app }));
    const v = await waitForVersion(client, 'honest-vars', '1.0');
    assert.equal(v.state, 'SUCCESSFUL', v.stateReason);
    assert.deepEqual(hits, []);
  });
});
