import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandWord } from '../../../src/images/dockerfile/expand.js';

const vars: Record<string, string> = { A: 'aa', E: '', U: 'http://h/x' };
const lookup = (n: string): string | undefined => vars[n];
const x = (raw: string, escape = '\\') => expandWord(raw, lookup, escape);

test('$VAR, ${VAR}, ${VAR:-word}, ${VAR:+word}', () => {
  assert.deepEqual(x('$A/${A}b'), { value: 'aa/aab', unsure: [] });
  assert.deepEqual(x('${E:-d}|${A:-d}|${E:+p}|${A:+p}'), { value: 'd|aa||p', unsure: [] });
  assert.deepEqual(x('${E:-${A}x}'), { value: 'aax', unsure: [] });
  assert.deepEqual(x('$A-$A.$A'), { value: 'aa-aa.aa', unsure: [] });
});

test('quotes and the escape character', () => {
  assert.deepEqual(x('\'$A\'"$A"\\$A'), { value: '$Aaa$A', unsure: [] });
  assert.deepEqual(x('"a\\"b\\c\\$A"'), { value: 'a"b\\c$A', unsure: [] });
  assert.deepEqual(x('h\\t\\tp'), { value: 'http', unsure: [] });
  assert.deepEqual(x('`$A\\x', '`'), { value: '$A\\x', unsure: [] });
  assert.throws(() => x('"open'), /unterminated/);
  assert.throws(() => x("'open"), /unterminated/);
  assert.throws(() => x('${A:-x'), /missing/);
});

test('what cannot be known is unsure, and kept as written', () => {
  assert.deepEqual(x('/p/$NOPE/${NOPE}'), { value: '/p/$NOPE/${NOPE}', unsure: ['$NOPE', '${NOPE}'] });
  assert.deepEqual(x('${NOPE:-x}'), { value: '${NOPE:-x}', unsure: ['${NOPE:-x}'] });
  for (const odd of ['${A%x}', '${A:?x}', '${A-x}', '${1}', '${}', '$1', '$$', '$', '$Aé', '${A/a/b}', '${A:-${B}']) {
    let r;
    try {
      r = x(odd);
    } catch {
      continue;
    }
    assert.ok(r.unsure.length > 0, `${odd} is unsure`);
  }
  // An alternative counts only when it is used.
  assert.deepEqual(x('${A:-$NOPE}'), { value: 'aa', unsure: [] });
  assert.deepEqual(x('${E:-$NOPE}').unsure, ['$NOPE']);
  assert.deepEqual(x('${A:+$NOPE}').unsure, ['$NOPE']);
});
