/**
 * The layer rule (lint/layer-boundaries.js, configured in eslint.config.js) through ESLint's own
 * Node API with the project's real config: deliberate violations in test/fixtures/lint/src are
 * rejected at any depth and in every import form, allowed imports pass, and the real src/ holds.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import test from 'node:test';
import { ESLint } from 'eslint';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const FIXTURES = path.join(ROOT, 'test/fixtures/lint/src');
const RULE = 'cubby/layer-boundaries';
const OPTS = { timeout: 120_000 };

/** The layer rule's findings in one fixture, as `line:messageId`. Fixtures are ignored by `eslint .`, so ignores are off here. */
async function findings(rel: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT, ignore: false });
  const [result] = await eslint.lintFiles([path.join(FIXTURES, rel)]);
  assert.ok(result, `no lint result for ${rel}`);
  assert.equal(result.fatalErrorCount, 0, `fixture ${rel} did not parse: ${JSON.stringify(result.messages)}`);
  return result.messages.filter((m) => m.ruleId === RULE).map((m) => `${m.line}:${m.messageId}`);
}

test('the core is refused adapters, front doors and host modules at any depth and in every import form', OPTS, async () => {
  assert.deepEqual(await findings('core/microvms/deep/bad.ts'), [
    '2:layer',
    '3:layer',
    '4:module',
    '5:module',
    '6:never',
    '7:layer',
    '8:layer',
    '9:module',
    '11:computed',
    '12:layer',
    '13:outside',
  ]);
});

test('what the core may import passes', OPTS, async () => {
  assert.deepEqual(await findings('core/good.ts'), []);
});

test('the validator may not import the CLI (the old cycle), adapters no front door or other adapter', OPTS, async () => {
  assert.deepEqual(await findings('validate/bad.ts'), ['2:layer']);
  assert.deepEqual(await findings('runtime/gvisor/bad.ts'), ['2:layer', '3:layer']);
});

test('a src folder missing from the layer table is reported', OPTS, async () => {
  assert.deepEqual(await findings('newlayer/x.ts'), ['1:unknown']);
});

test('the error names both layers and the import', OPTS, async () => {
  const eslint = new ESLint({ cwd: ROOT, ignore: false });
  const [result] = await eslint.lintFiles([path.join(FIXTURES, 'core/microvms/deep/bad.ts')]);
  const first = result?.messages.find((m) => m.ruleId === RULE);
  assert.match(first?.message ?? '', /core may not import from runtime \('\.\.\/\.\.\/\.\.\/runtime\/gvisor\/runsc\.js'\)/);
});

test('the fixtures stay out of the normal lint run, and the real src/ keeps its layers', OPTS, async () => {
  const eslint = new ESLint({ cwd: ROOT });
  assert.equal(await eslint.isPathIgnored(path.join(FIXTURES, 'core/microvms/deep/bad.ts')), true);
  const results = await eslint.lintFiles(['src']);
  assert.ok(results.length > 100, `linted only ${results.length} files`);
  const broken = results.flatMap((r) =>
    r.messages.filter((m) => m.ruleId === RULE).map((m) => `${path.relative(ROOT, r.filePath)}:${m.line}: ${m.message}`),
  );
  assert.deepEqual(broken, []);
});
