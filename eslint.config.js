// Lint rules: typescript-eslint's recommended set, plus the architecture rule that the core
// stays free of process spawning and HTTP (it talks to the world only through ports).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'scripts/**', '.ci/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['node:child_process', 'child_process', 'node:http', 'http', 'node:https', 'https', 'node:net', 'net', 'fastify', 'ws'],
        patterns: ['../runtime/*', '../network/*', '../store/*', '../api/*', '../gateway/*', '../images/*', '../daemon/*', '../cli/*'],
      }],
    },
  },
);
