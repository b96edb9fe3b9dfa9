/**
 * ESLint rule `cubby/layer-boundaries`: which layer of src/ may import which. An import is
 * resolved against the importing file's path (not matched as text), so `../../../runtime/x`,
 * `./../runtime/x` and `import type` from any depth are judged alike. A file's layer is the
 * first folder under its nearest `src` ancestor; files outside a `src` folder are not judged.
 *
 * Options: { layers: { [layer]: { may: string[], never?: string[], modules?: string[] } } }
 * - may: the layers its files may import (its own layer included only if listed).
 * - never: modules inside an allowed layer that are still off limits (`util/command`).
 * - modules: packages it may not import (`node:http` also bans `http`; `ws` bans `ws/...`).
 *   A layer with modules set also may not compute a dynamic import's specifier.
 * A src folder missing from the table is reported, so a new layer gets a deliberate place.
 */
import path from 'node:path';

/** The nearest ancestor folder named `src`, or undefined. */
function srcRoot(file) {
  let dir = path.dirname(path.resolve(file));
  while (dir !== path.dirname(dir)) {
    if (path.basename(dir) === 'src') return dir;
    dir = path.dirname(dir);
  }
  return undefined;
}

/** A literal specifier, from a string literal or a template without expressions. */
function literal(node) {
  if (!node) return undefined;
  if (node.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node.type === 'TemplateLiteral' && node.expressions.length === 0) return node.quasis[0]?.value.cooked ?? undefined;
  if (node.type === 'TSLiteralType') return literal(node.literal);
  return undefined;
}

/** `node:http` -> `http`; `@scope/pkg/sub` -> `@scope/pkg`; `ws/lib/x` -> `ws`. */
function packageName(spec) {
  const bare = spec.replace(/^node:/, '');
  const parts = bare.split('/');
  return bare.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

export const layerBoundaries = {
  meta: {
    type: 'problem',
    docs: { description: 'keeps each layer of src/ to the layers it may depend on' },
    schema: [
      {
        type: 'object',
        properties: {
          layers: {
            type: 'object',
            additionalProperties: {
              type: 'object',
              properties: {
                may: { type: 'array', items: { type: 'string' } },
                never: { type: 'array', items: { type: 'string' } },
                modules: { type: 'array', items: { type: 'string' } },
              },
              required: ['may'],
              additionalProperties: false,
            },
          },
        },
        required: ['layers'],
        additionalProperties: false,
      },
    ],
    messages: {
      layer: "{{from}} may not import from {{to}} ('{{spec}}'): {{from}} may import only {{may}}",
      outside: "{{from}} may not import from outside src ('{{spec}}')",
      never: "{{from}} may not import {{module}} ('{{spec}}'): it reaches the host",
      module: "{{from}} may not import the package '{{spec}}': it talks to the world through ports",
      computed: '{{from}} may not import a computed specifier: the layer rule cannot check it',
      unknown: 'src/{{from}} is not in the layer table (eslint.config.js): give it a place there',
    },
  },
  create(context) {
    const layers = context.options[0]?.layers ?? {};
    const file = context.filename;
    const root = srcRoot(file);
    if (!root) return {};
    const from = path.relative(root, file).split(path.sep)[0];
    const rule = layers[from];
    if (!rule) {
      return {
        Program(node) {
          context.report({ node, messageId: 'unknown', data: { from } });
        },
      };
    }
    const bannedPackages = new Set((rule.modules ?? []).map(packageName));

    function check(node, spec) {
      if (spec === undefined) {
        if (rule.modules) context.report({ node, messageId: 'computed', data: { from } });
        return;
      }
      if (!spec.startsWith('.') && !path.isAbsolute(spec)) {
        if (bannedPackages.has(packageName(spec))) context.report({ node, messageId: 'module', data: { from, spec } });
        return;
      }
      const rel = path.relative(root, path.resolve(path.dirname(file), spec));
      if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
        context.report({ node, messageId: 'outside', data: { from, spec } });
        return;
      }
      const target = rel
        .split(path.sep)
        .join('/')
        .replace(/\.(js|ts|mjs|cjs)$/, '');
      const to = target.split('/')[0];
      if (!rule.may.includes(to)) {
        context.report({ node, messageId: 'layer', data: { from, to, spec, may: rule.may.join(', ') } });
        return;
      }
      const hit = (rule.never ?? []).find((m) => target === m || target.startsWith(`${m}/`));
      if (hit) context.report({ node, messageId: 'never', data: { from, module: hit, spec } });
    }

    const fromSource = (node) => {
      if (node.source) check(node.source, literal(node.source));
    };
    return {
      ImportDeclaration: fromSource,
      ExportNamedDeclaration: fromSource,
      ExportAllDeclaration: fromSource,
      ImportExpression(node) {
        check(node.source, literal(node.source));
      },
      TSImportType(node) {
        check(node, literal(node.argument ?? node.parameter));
      },
      TSExternalModuleReference(node) {
        check(node, literal(node.expression));
      },
      CallExpression(node) {
        if (node.callee.type === 'Identifier' && node.callee.name === 'require' && node.arguments.length === 1) {
          check(node, literal(node.arguments[0]));
        }
      },
    };
  },
};

export default { rules: { 'layer-boundaries': layerBoundaries } };
