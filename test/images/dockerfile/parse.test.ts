import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDockerfile } from '../../../src/images/dockerfile/parse.js';
import { extractFlags, jsonArgs, splitRaw } from '../../../src/images/dockerfile/words.js';
import { isCubbyError } from '../../../src/errors/index.js';

const invalidAt =
  (line: number, msg: RegExp) =>
  (e: unknown): boolean => {
    assert.ok(isCubbyError(e, 'DOCKERFILE_INVALID'), String(e));
    assert.match(e.message, new RegExp(`^Dockerfile line ${line}: `));
    assert.match(e.message, msg);
    return true;
  };

test('continuations skip comment and blank lines inside them, and keep line numbers', () => {
  const { instructions } = parseDockerfile(
    [
      'FROM debian-12-python', //           1
      '', //                                2
      'ADD \\', //                          3
      '  # a comment inside', //            4
      '', //                                5
      '  a.txt \\  ', //                    6 (spaces after the escape still continue)
      '  /a.txt', //                        7
      '   # an indented comment', //        8
      'COPY b /b', //                       9
    ].join('\n'),
  );
  assert.deepEqual(
    instructions.map((i) => [i.keyword, i.args, i.line, i.endLine]),
    [
      ['FROM', 'debian-12-python', 1, 1],
      ['ADD', 'a.txt   /a.txt', 3, 7],
      ['COPY', 'b /b', 9, 9],
    ],
  );
});

test('the escape directive is read on the first line only; anywhere else it is refused', () => {
  const p = parseDockerfile('# escape=`\nFROM x\nRUN a `\n b \\\nCOPY c d');
  assert.equal(p.escape, '`');
  assert.deepEqual(
    p.instructions.map((i) => i.keyword),
    ['FROM', 'RUN', 'COPY'],
  );
  assert.equal(p.instructions[1]?.args, 'a  b \\');
  // A byte-order mark does not hide it.
  assert.equal(parseDockerfile('\uFEFF# escape=`\nFROM x').escape, '`');
  // buildah ignores an escape directive after "# syntax=", BuildKit honours it: refused, not guessed.
  assert.throws(() => parseDockerfile('# syntax=docker/dockerfile:1\n# escape=`\nFROM x'), invalidAt(2, /first line/));
  assert.throws(() => parseDockerfile('FROM x\n#escape=\\'), invalidAt(2, /first line/));
  assert.throws(() => parseDockerfile('# escape=x\nFROM x'), invalidAt(1, /must be/));
});

test('flags are read before the arguments, quotes removed; -- ends them', () => {
  const { instructions } = parseDockerfile('FROM x\nCOPY --chown="app user" --chmod=755 a b\nCMD -- --port 1\nWORKDIR --x /w');
  assert.deepEqual(instructions[1]?.flags, ['--chown=app user', '--chmod=755']);
  assert.equal(instructions[1]?.args, 'a b');
  assert.deepEqual(instructions[2]?.flags, []);
  assert.equal(instructions[2]?.args, '--port 1');
  assert.deepEqual(instructions[3]?.flags, ['--x']);
  assert.deepEqual(extractFlags("--a='x y' --b rest --c"), { flags: ['--a=x y', '--b'], rest: 'rest --c' });
});

test('heredoc bodies are part of their instruction, never instructions', () => {
  const { instructions } = parseDockerfile(
    [
      'FROM x', //                                   1
      'RUN <<EOF cat', //                            2
      'ADD http://127.0.0.1/x /m', //                3 (body)
      'EOF', //                                      4
      'COPY <<-"A" <<\'B\' /dest/', //               5
      '\tFROM y', //                                 6 (body of A, tab stripped)
      '\tA', //                                      7
      'B-line', //                                   8 (body of B)
      'B', //                                        9
      'RUN echo "<<EOF" \'<<EOF\' x<<EOF', //        10 (no heredoc: quoted, or inside a word)
      'CMD ["done"]', //                             11
    ].join('\n'),
  );
  assert.deepEqual(
    instructions.map((i) => [i.keyword, i.line, i.endLine]),
    [
      ['FROM', 1, 1],
      ['RUN', 2, 4],
      ['COPY', 5, 9],
      ['RUN', 10, 10],
      ['CMD', 11, 11],
    ],
  );
  assert.deepEqual(instructions[1]?.heredocs, [{ name: 'EOF', chomp: false, body: 'ADD http://127.0.0.1/x /m\n' }]);
  assert.deepEqual(
    instructions[2]?.heredocs.map((h) => [h.name, h.body]),
    [
      ['A', 'FROM y\n'],
      ['B', 'B-line\n'],
    ],
  );
  assert.deepEqual(instructions[3]?.heredocs, []);
  // The terminator must match exactly (trailing spaces do not end it).
  assert.throws(() => parseDockerfile('FROM x\nRUN <<EOF\nEOF \n'), invalidAt(2, /not terminated/));
});

test('word splitting keeps quotes and escapes for the expansion step', () => {
  assert.deepEqual(splitRaw('A=1 B="two words" C=three\\ words \'D E\''), ['A=1', 'B="two words"', 'C=three\\ words', "'D E'"]);
  assert.deepEqual(splitRaw('a`  b', '`'), ['a` ', 'b']);
});

test('JSON arrays are read as the builder reads them (first value, then what trails)', () => {
  assert.deepEqual(jsonArgs(' ["a", "b"]'), { form: 'json', values: ['a', 'b'], trailing: '' });
  assert.deepEqual(jsonArgs('["a"] extra'), { form: 'json', values: ['a'], trailing: 'extra' });
  assert.deepEqual(jsonArgs('["a]"] x'), { form: 'json', values: ['a]'], trailing: 'x' });
  assert.deepEqual(jsonArgs('[1, "a"]'), { form: 'not-strings' });
  assert.deepEqual(jsonArgs('[python3, x]'), { form: 'shell' });
  assert.deepEqual(jsonArgs('a b'), { form: 'shell' });
});
