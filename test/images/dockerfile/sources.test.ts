/** ADD and COPY: no URL of any kind, written any way, and nothing Cubby cannot resolve for sure. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { analyzeDockerfile } from '../../../src/images/dockerfile/analyze.js';
import { isCubbyError } from '../../../src/errors/index.js';

const URL_MSG = /ADD from a URL is not supported: put the file in the code artifact \(or fetch it in a RUN step\)|COPY from a URL/;

function refused(text: string, line: number, msg: RegExp, buildArgs?: Record<string, string>): void {
  assert.throws(
    () => analyzeDockerfile(text, buildArgs ? { buildArgs } : {}),
    (e: unknown) => {
      assert.ok(isCubbyError(e, 'DOCKERFILE_INVALID'), `expected DOCKERFILE_INVALID for ${JSON.stringify(text)}, got ${String(e)}`);
      assert.match(e.message, new RegExp(`^Dockerfile line ${line}: `), text);
      assert.match(e.message, msg, text);
      return true;
    },
    text,
  );
}

const F = 'FROM debian-12-python\n';

test('URLs of every scheme and form are refused, on the right line', () => {
  for (const src of [
    'http://127.0.0.1:8470/metrics',
    'HTTPS://x/y',
    'ftp://h/f',
    'git://h/r',
    'ssh://git@h/r',
    's3://b/k',
    'git@github.com:o/r.git',
    'github.com/o/r',
    'http://169.254.169.254/latest/meta-data/',
  ]) {
    refused(`${F}ADD ${src} /m\n`, 2, URL_MSG);
    refused(`${F}COPY ${src} /m\n`, 2, URL_MSG);
    refused(`${F}ADD ${JSON.stringify([src, '/m'])}\n`, 2, URL_MSG);
  }
  refused(`${F}\nADD ["http://127.0.0.1:8470/metrics", "/m"]\n`, 3, URL_MSG);
  refused(`${F}ADD --chown=1:1 a.txt http://h/x /d/\n`, 2, URL_MSG);
  // Quotes and escapes the builder removes.
  refused(`${F}ADD "http://h/x" /m\n`, 2, URL_MSG);
  refused(`${F}ADD 'http'://h/x /m\n`, 2, URL_MSG);
  refused(`${F}ADD http:\\/\\/h/x /m\n`, 2, URL_MSG);
  refused(`${F}ADD ["http:\\\\/\\\\/h/x", "/m"]\n`, 2, URL_MSG);
  refused(`# escape=\`\n${F}ADD http:\`/\`/h/x /m\n`, 3, URL_MSG);
});

test('variables are expanded as the builder expands them before the check', () => {
  refused(`${F}ARG U=http://127.0.0.1:1/x\nADD $U /m\n`, 3, URL_MSG);
  refused(`${F}ARG U="http://127.0.0.1:1/x"\nADD ["$U", "/m"]\n`, 3, URL_MSG);
  refused(`${F}ENV U=http://127.0.0.1:1/x\nADD \${U} /m\n`, 3, URL_MSG);
  refused(`${F}ARG H=127.0.0.1\nENV U=http://$H:1\nCOPY $U/x /m\n`, 4, URL_MSG);
  refused(`${F}ARG S=http\nADD \${S}://h/x /m\n`, 3, URL_MSG);
  refused(`${F}ARG E=\nADD \${E:-http://h/x} /m\n`, 3, URL_MSG);
  refused(`${F}ARG P=1\nADD \${P:+http://h/x} /m\n`, 3, URL_MSG);
  refused(`${F}ARG A=a B=http://h/x\nADD $B /m\n`, 3, URL_MSG);
  // ARG before FROM, re-declared in the stage, takes the global default.
  refused(`ARG U=http://h/x\n${F}ARG U\nADD $U /m\n`, 4, URL_MSG);
  // A build arg overrides the default.
  refused(`${F}ARG U=a.txt\nADD $U /m\n`, 3, URL_MSG, { U: 'http://h/x' });
  // ENV wins over an ARG of the same name, whatever the order.
  refused(`${F}ENV U=http://h/x\nARG U=a.txt\nADD $U /m\n`, 4, URL_MSG);
  // Continuation with a comment inside.
  refused(`${F}ARG U=http://h/x\nADD \\\n  # hidden?\n  $U \\\n  /m\n`, 3, URL_MSG);
});

test('what Cubby cannot resolve for certain is refused, naming the line and the reference', () => {
  const unsure = /cannot resolve with certainty/;
  refused(`${F}ADD $U /m\n`, 2, /\$U, which Cubby cannot resolve/); // undeclared (could be the base image's ENV)
  refused(`${F}ARG U\nADD $U /m\n`, 3, unsure); // no value: could be overridden
  refused(`ARG U=a.txt\n${F}ADD $U /m\n`, 3, unsure); // a global ARG is not visible in the stage
  refused(`${F}ARG HTTP_PROXY=a.txt\nCOPY $HTTP_PROXY /m\n`, 3, unsure); // the builder may fill it in
  refused(`${F}ARG U=a\nADD \${U%a}x /m\n`, 3, unsure);
  refused(`${F}ARG U=a\nADD \${U:?no} /m\n`, 3, unsure);
  refused(`${F}ADD \${NOPE:-a.txt} /m\n`, 2, unsure);
  refused(`${F}ARG D\nENV U=$D\nCOPY $U /m\n`, 4, unsure);
  refused(`${F}COPY --chown=$WHO a /a\n`, 2, /flag --chown uses \$WHO/);
  refused(`${F}COPY a.txt $1\n`, 2, unsure);
  refused(`${F}COPY "a /m\n`, 2, /unterminated/);
});

test('ADD/COPY flags, forms and other instructions Cubby cannot judge are refused', () => {
  refused(`${F}ADD --checksum=sha256:0 a /a\n`, 2, /ADD --checksum is not supported/);
  refused(`${F}ADD --keep-git-dir=true a /a\n`, 2, /ADD --keep-git-dir/);
  refused(`${F}COPY --link a /a\n`, 2, /unknown flag --link on COPY/);
  refused(`${F}COPY --from=other /x /x\n`, 2, /--from/);
  refused(`${F}COPY --chown a /a\n`, 2, /needs a value/);
  refused(`${F}ADD ["a", "/a"] http://h/x\n`, 2, /after the JSON array/);
  refused(`${F}ADD [1, "/a"]\n`, 2, /strings only/);
  refused(`${F}ADD [a, /a]\n`, 2, /valid JSON array/);
  refused(`${F}COPY onlyone\n`, 2, /source and a destination/);
  refused(`${F}ONBUILD ADD http://h/x /m\n`, 2, /ONBUILD is not supported/);
  refused(`${F}FETCH http://h/x\n`, 2, /unknown instruction FETCH/);
  refused(`${F}WORKDIR --x /w\n`, 2, /unknown flag --x on WORKDIR/);
  refused(`${F}CMD --port 8080\n`, 2, /unknown flag --port on CMD/);
  refused(`${F}RUN <<EOF\nADD http://h/x /m\nEOF\n`, 2, /heredocs .* not supported/);
  refused(`${F}COPY <<EOF /m\nhi\nEOF\n`, 2, /heredocs .* not supported/);
  refused(`${F}ADD <<EOF /m\nhi\nEOF\n`, 2, /heredocs .* not supported/);
});

test('ADD and COPY of local files, with variables that resolve for certain, are accepted', () => {
  const ok = (text: string, buildArgs?: Record<string, string>) =>
    assert.doesNotThrow(() => analyzeDockerfile(text, buildArgs ? { buildArgs } : {}), text);
  ok(`${F}COPY app.py /app/\nADD ["a b.txt", "/x/"]\nADD --chown=1000:1000 --chmod=644 site.tar.gz /srv/\n`);
  ok(`${F}ARG DIR=src\nENV DEST=/app\nCOPY $DIR/ \${DEST}/\nCOPY ["\${DIR}/x", "$DEST/x"]\n`);
  ok(`ARG V=1\n${F}ARG V\nCOPY v$V.txt /v\n`);
  ok(`${F}ARG U\nCOPY $U /m\n`, { U: 'app.py' });
  ok(`${F}ARG E=\nCOPY \${E:-app.py} /m\nCOPY \\$literal /m\nCOPY '$literal' /m\n`);
  ok(`${F}ENV PATH=/app/bin:$PATH\nCOPY a /a\n`); // an unknown value is fine where ADD/COPY do not use it
  ok(`${F}HEALTHCHECK --interval=5s --retries=3 CMD true\n`);
});

/** `text` written as one Dockerfile word, each run of characters wrapped its own way. */
function obfuscate(text: string, wraps: string[]): { decls: string[]; word: string } {
  const decls = ['ARG EMPTY=', 'ARG ONE=1'];
  const runs: Array<[string, string]> = [];
  [...text].forEach((ch, i) => {
    const w = wraps[i % wraps.length] as string;
    const last = runs[runs.length - 1];
    if (last && last[1] === w) last[0] += ch;
    else runs.push([ch, w]);
  });
  const word = runs
    .map(([c, w], i) => {
      switch (w) {
        case 'single':
          return `'${c}'`;
        case 'double':
          return `"${c}"`;
        case 'escaped':
          return [...c].map((ch) => `\\${ch}`).join('');
        case 'arg':
          decls.push(`ARG V${i}="${c}"`);
          return `\${V${i}}`;
        case 'env':
          decls.push(`ENV V${i}="${c}"`);
          return `\${V${i}}`;
        case 'default':
          return `\${EMPTY:-${c}}`;
        case 'alt':
          return `\${ONE:+${c}}`;
        default:
          return c;
      }
    })
    .join('');
  return { decls, word };
}

const WRAPS = fc.array(fc.constantFrom('plain', 'single', 'double', 'escaped', 'arg', 'env', 'default', 'alt'), {
  minLength: 1,
  maxLength: 40,
});

test('property: a URL written with any mix of quotes, escapes and variables is refused; a local path so written is not', () => {
  fc.assert(
    fc.property(
      WRAPS,
      fc.boolean(),
      fc.constantFrom('ADD', 'COPY'),
      fc.constantFrom('http://127.0.0.1:8470/metrics', 'git@h:o/r'),
      (wraps, json, kw, url) => {
        const { decls, word } = obfuscate(url, wraps);
        const add = json ? `${kw} ${JSON.stringify([word, '/m'])}` : `${kw} ${word} /m`;
        refused(`${F}${decls.join('\n')}\n${add}\n`, decls.length + 2, URL_MSG);
      },
    ),
    { numRuns: 400 },
  );
  fc.assert(
    fc.property(WRAPS, fc.boolean(), (wraps, json) => {
      const { decls, word } = obfuscate('app/data-1.txt', wraps);
      const add = json ? `COPY ${JSON.stringify([word, '/m'])}` : `COPY ${word} /m`;
      analyzeDockerfile(`${F}${decls.join('\n')}\n${add}\n`);
    }),
    { numRuns: 200 },
  );
});
