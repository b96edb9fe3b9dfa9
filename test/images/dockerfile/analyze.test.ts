import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeDockerfile } from '../../../src/images/dockerfile/analyze.js';
import { checkFrom, rewriteFrom } from '../../../src/images/dockerfile/base-from.js';
import { isCubbyError, type ErrorCode } from '../../../src/errors/index.js';

const MANAGED = ['debian-12-minimal', 'debian-12-python'];
const PY = { name: 'debian-12-python' };

function code(fn: () => unknown, expected: ErrorCode, msg?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isCubbyError(e, expected), `expected ${expected}, got ${String(e)}`);
    if (msg) assert.match(e.message, msg);
    return true;
  });
}

test('exec and shell forms, ENV forms, WORKDIR, USER, EXPOSE', () => {
  const s = analyzeDockerfile(
    [
      '# syntax=docker/dockerfile:1',
      'ARG X=1',
      'FROM debian-12-python:1.0 AS app',
      '# a comment',
      'ENV A=1 B="two words" C=three\\ words',
      'ENV LEGACY value with spaces',
      'WORKDIR /app',
      'RUN apt-get update && \\',
      '    # comment inside a continuation',
      '    echo done',
      'USER app',
      'EXPOSE 8080 9000/tcp 53/udp 8080',
      'ENTRYPOINT ["python3", "/app/app.py"]',
      'CMD -- --port 8080',
    ].join('\n'),
  );
  assert.equal(s.from.image, 'debian-12-python');
  assert.equal(s.from.tag, '1.0');
  assert.equal(s.from.alias, 'app');
  assert.equal(s.from.line, 3);
  assert.deepEqual(s.env, { A: '1', B: 'two words', C: 'three words', LEGACY: 'value with spaces' });
  assert.equal(s.workdir, '/app');
  assert.equal(s.user, 'app');
  assert.deepEqual(s.exposedPorts, [53, 8080, 9000]);
  assert.deepEqual(s.entrypoint, ['python3', '/app/app.py']);
  assert.deepEqual(s.cmd, ['/bin/sh', '-c', '--port 8080']);
  const run = s.instructions.find((i) => i.keyword === 'RUN');
  assert.equal(run?.args, 'apt-get update &&     echo done');
  assert.equal(run?.line, 8);
  assert.equal(run?.endLine, 10);
});

test('CMD exec form, shell form, SHELL, ENTRYPOINT resets CMD, malformed JSON is shell form', () => {
  assert.deepEqual(analyzeDockerfile('FROM debian-12-python\nCMD ["python3","/app/app.py"]').cmd, ['python3', '/app/app.py']);
  assert.deepEqual(analyzeDockerfile('FROM debian-12-python\nCMD python3 /app/app.py').cmd, ['/bin/sh', '-c', 'python3 /app/app.py']);
  assert.deepEqual(analyzeDockerfile('FROM debian-12-python\nSHELL ["/bin/bash","-ec"]\nENTRYPOINT exec run').entrypoint, [
    '/bin/bash',
    '-ec',
    'exec run',
  ]);
  const reset = analyzeDockerfile('FROM debian-12-python\nCMD ["a"]\nENTRYPOINT ["b"]');
  assert.deepEqual(reset.entrypoint, ['b']);
  assert.equal(reset.cmd, undefined);
  assert.deepEqual(analyzeDockerfile('FROM debian-12-python\nCMD [python3, x]').cmd, ['/bin/sh', '-c', '[python3, x]']);
});

test('the escape directive', () => {
  const s = analyzeDockerfile('# escape=`\nFROM debian-12-python\nRUN echo a `\n  b\nCMD ["x"]');
  assert.equal(s.instructions[1]?.args, 'echo a   b');
  assert.deepEqual(s.cmd, ['x']);
});

test('multi-stage, no FROM, instructions before FROM, FROM flags and variables are DOCKERFILE_INVALID', () => {
  code(() => analyzeDockerfile('FROM debian-12-python AS a\nRUN x\nFROM debian-12-python\n'), 'DOCKERFILE_INVALID', /multi-stage/);
  code(() => analyzeDockerfile('RUN x\n'), 'DOCKERFILE_INVALID');
  code(() => analyzeDockerfile('# only a comment\n'), 'DOCKERFILE_INVALID', /no FROM/);
  code(() => analyzeDockerfile('FROM --platform=linux/arm64 debian-12-python\n'), 'DOCKERFILE_INVALID', /flags/);
  code(() => analyzeDockerfile('ARG B=debian-12-python\nFROM $B\n'), 'DOCKERFILE_INVALID', /literally/);
});

test('what would reach outside the build sandbox is refused', () => {
  code(() => analyzeDockerfile('FROM debian-12-python\nCOPY --from=other /x /x\n'), 'DOCKERFILE_INVALID', /--from/);
  code(() => analyzeDockerfile('FROM debian-12-python\nADD https://example.invalid/x /x\n'), 'DOCKERFILE_INVALID', /URL/);
  code(
    () => analyzeDockerfile('FROM debian-12-python\nRUN --mount=type=bind,source=/,target=/h cat /h/etc/shadow\n'),
    'DOCKERFILE_INVALID',
    /RUN flags/,
  );
  code(() => analyzeDockerfile('FROM debian-12-python\nRUN --network=host true\n'), 'DOCKERFILE_INVALID', /RUN flags/);
  code(() => analyzeDockerfile('FROM debian-12-python\nEXPOSE 70000\n'), 'DOCKERFILE_INVALID', /port/);
});

test('FROM must name the requested managed image', () => {
  const from = (text: string) => analyzeDockerfile(text).from;
  assert.deepEqual(checkFrom(from('FROM debian-12-python'), PY, MANAGED), { name: 'debian-12-python' });
  assert.deepEqual(checkFrom(from('FROM debian-12-python:1.0'), PY, MANAGED), { name: 'debian-12-python', version: '1.0' });
  assert.deepEqual(checkFrom(from('FROM debian-12-python:latest'), { name: 'debian-12-python', version: '1.0' }, MANAGED), {
    name: 'debian-12-python',
    version: '1.0',
  });
  code(() => checkFrom(from('FROM debian-12-minimal'), PY, MANAGED), 'DOCKERFILE_FROM_MISMATCH', /debian-12-minimal.*debian-12-python/);
  code(
    () => checkFrom(from('FROM debian-12-python:1.0'), { name: 'debian-12-python', version: '1.1' }, MANAGED),
    'DOCKERFILE_FROM_MISMATCH',
  );
  code(() => checkFrom(from('FROM scratch'), PY, MANAGED), 'DOCKERFILE_INVALID', /scratch/);
  code(() => checkFrom(from('FROM python:3.11'), PY, MANAGED), 'DOCKERFILE_INVALID', /not a managed image.*never pulled/);
  code(() => checkFrom(from('FROM docker.io/library/debian'), PY, MANAGED), 'DOCKERFILE_INVALID', /not a managed image/);
  code(() => checkFrom(from('FROM debian-12-python:bookworm'), PY, MANAGED), 'DOCKERFILE_INVALID', /versions look like/);
});

test('the FROM rewrite keeps every other line where it was', () => {
  const text = 'ARG A=1\nFROM debian-12-python \\\n  AS app\nRUN echo $A\n';
  const s = analyzeDockerfile(text);
  const out = rewriteFrom(text, s.from, 'localhost/cubby/debian-12-python:1.0');
  assert.equal(out, 'ARG A=1\nFROM localhost/cubby/debian-12-python:1.0 AS app\n\nRUN echo $A\n');
});

test('ENV, WORKDIR, USER and EXPOSE are expanded with ARG/ENV values; what cannot be known stays as written', () => {
  const s = analyzeDockerfile(
    [
      'ARG BASE=debian-12-python', // a global ARG: not visible after FROM unless declared again
      'FROM debian-12-python',
      'ARG PORT=8080',
      'ARG WHO',
      'ENV APP=/srv/app HOME_DIR="$APP"',
      'ENV URL=http://x:$PORT/ PATH=$APP/bin:$PATH GLOBAL=${BASE:-none}',
      'WORKDIR $APP',
      'WORKDIR sub',
      'USER ${WHO:-app}',
      'EXPOSE $PORT 9000',
    ].join('\n'),
    { buildArgs: { PORT: '8081' } },
  );
  assert.deepEqual(s.env, {
    APP: '/srv/app',
    HOME_DIR: '$APP', // pairs of one ENV see the values from before the line, as in Docker
    URL: 'http://x:8081/',
    PATH: '/srv/app/bin:$PATH',
    GLOBAL: '${BASE:-none}',
  });
  assert.equal(s.workdir, '/srv/app/sub');
  assert.equal(s.user, '${WHO:-app}');
  assert.deepEqual(s.exposedPorts, [8081, 9000]);
  code(
    () => analyzeDockerfile('FROM debian-12-python\nARG P\nEXPOSE $P\n'),
    'DOCKERFILE_INVALID',
    /line 3: EXPOSE \$P: the port must be known/,
  );
});
