// Lint rules: typescript-eslint's recommended set, plus the architecture rule of which layer
// may import which (the core stays free of process spawning and HTTP: it talks through ports).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layerPlugin from './lint/layer-boundaries.js';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'scripts/**', '.ci/**', 'test/fixtures/lint/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Plain CommonJS scripts that run inside sandboxes (the interpreter's JS kernel, fixture apps).
    files: ['**/*.cjs', 'test/fixtures/apps/**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', process: 'readonly', Buffer: 'readonly', console: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
      // Prettier wraps code at 140 (.prettierrc.json); this catches what it cannot wrap (comments).
      'max-len': ['error', { code: 140, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true }],
    },
  },
  {
    // Layers, by what each may import (resolved paths, any depth: see lint/layer-boundaries.js).
    // The core talks to the world only through its ports; adapters implement ports and know no
    // front door or other adapter; front doors reach adapters only through the core; the daemon
    // wires everything together.
    files: ['**/*.ts'],
    plugins: { cubby: layerPlugin },
    rules: {
      'cubby/layer-boundaries': [
        'error',
        {
          layers: {
            core: {
              may: ['core', 'errors', 'util'],
              never: ['util/command', 'util/cgroup'],
              modules: [
                'node:child_process',
                'node:http',
                'node:https',
                'node:http2',
                'node:net',
                'node:tls',
                'node:dgram',
                'node:module',
                'fastify',
                'ws',
                'pg',
                'better-sqlite3',
                'node-pty',
              ],
            },
            errors: { may: ['errors'] },
            util: { may: ['util', 'errors'] },
            runtime: { may: ['runtime', 'core', 'errors', 'util'] },
            network: { may: ['network', 'core', 'errors', 'util'] },
            store: { may: ['store', 'core', 'errors', 'util'] },
            images: { may: ['images', 'core', 'errors', 'util'] },
            gateway: { may: ['gateway', 'core', 'errors', 'util'] },
            hooks: { may: ['hooks', 'core', 'errors', 'util'] },
            adapters: { may: ['adapters', 'core', 'errors', 'util'] },
            api: { may: ['api', 'core', 'errors', 'util'] },
            daemon: {
              // validate: the console's validation runs (an API client of the daemon's own listener).
              may: [
                'daemon',
                'core',
                'errors',
                'util',
                'api',
                'gateway',
                'runtime',
                'network',
                'store',
                'images',
                'hooks',
                'adapters',
                'validate',
              ],
            },
            // Clients of the running daemon's API, shared by the CLI and the validator.
            client: { may: ['client', 'core', 'errors'] },
            validate: { may: ['validate', 'client', 'core', 'errors', 'util'] },
            // Operator commands open the store, images and disk adapters directly, like the daemon.
            cli: { may: ['cli', 'client', 'validate', 'daemon', 'store', 'images', 'adapters', 'core', 'errors', 'util'] },
          },
        },
      ],
    },
  },
);
