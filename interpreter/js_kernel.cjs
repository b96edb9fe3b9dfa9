'use strict';
/*
 * A JavaScript/TypeScript kernel for cubby-code-interpreter (Debian has no IJavascript). Cells come
 * as JSON lines on stdin; events go as JSON lines to the fd in CUBBY_EVENTS_FD.
 *
 * A cell is rewritten so it runs like a notebook cell: top-level declarations (let/const/var,
 * functions, classes) become globals that later cells see; static `import` becomes an awaited
 * dynamic import; top-level `await` works (the cell body runs in an async function); the value of
 * the last expression is the cell's result. TypeScript is transpiled first (Debian's
 * node-typescript, loaded on the first TypeScript cell). SIGINT interrupts the cell.
 */
const fs = require('node:fs');
const path = require('node:path');
const util = require('node:util');
const vm = require('node:vm');
const { createRequire, builtinModules } = require('node:module');
const { pathToFileURL } = require('node:url');
const acorn = require('acorn');

const EVENTS_FD = Number(process.env.CUBBY_EVENTS_FD);
const LANG = process.env.CUBBY_KERNEL_LANG === 'ts' ? 'ts' : 'js';
delete process.env.CUBBY_EVENTS_FD;
delete process.env.CUBBY_KERNEL_LANG;

let current = null; // id of the running cell
let executionCount = 0;

function send(obj) {
  fs.writeSync(EVENTS_FD, JSON.stringify(obj) + '\n');
}

// Output of the cell (console.*, process.stdout.write) goes through the event pipe, in order.
for (const name of ['stdout', 'stderr']) {
  process[name].write = function (chunk, encoding, cb) {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8');
    send({ type: name, text, id: current });
    const done = typeof encoding === 'function' ? encoding : cb;
    if (typeof done === 'function') process.nextTick(done);
    return true;
  };
}

let ts; // typescript, loaded on first use
function transpile(code) {
  ts ??= require('typescript');
  const out = ts.transpileModule(code, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, esModuleInterop: true, sourceMap: false },
    reportDiagnostics: true,
  });
  const errs = (out.diagnostics || []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errs.length) {
    const e = new SyntaxError(ts.flattenDiagnosticMessageText(errs[0].messageText, '\n'));
    e.stack = `SyntaxError: ${e.message}`;
    throw e;
  }
  return out.outputText;
}

/** Visits every node of an acorn AST. */
function walk(node, f) {
  if (!node || typeof node.type !== 'string') return;
  f(node);
  for (const key of Object.keys(node)) {
    const v = node[key];
    if (Array.isArray(v)) for (const x of v) walk(x, f);
    else if (v && typeof v.type === 'string') walk(v, f);
  }
}

function patternNames(p, out) {
  if (!p) return out;
  switch (p.type) {
    case 'Identifier': out.push(p.name); break;
    case 'ObjectPattern': for (const prop of p.properties) patternNames(prop.type === 'RestElement' ? prop.argument : prop.value, out); break;
    case 'ArrayPattern': for (const el of p.elements) patternNames(el, out); break;
    case 'RestElement': patternNames(p.argument, out); break;
    case 'AssignmentPattern': patternNames(p.left, out); break;
  }
  return out;
}

/** The cell as a script: `var <globals>; (async () => { <body>; return <last expression> })()`. */
function rewrite(code) {
  const ast = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'module', allowAwaitOutsideFunction: true, allowHashBang: true });
  const src = (n) => code.slice(n.start, n.end);
  const edits = []; // {start, end, text}, non-overlapping
  const hoisted = new Set();
  const fnDecls = [];
  // import() anywhere, so modules resolve from the cell's cwd rather than this file's folder.
  walk(ast, (n) => {
    if (n.type === 'ImportExpression') edits.push({ start: n.start, end: n.start + 'import'.length, text: '__cubby_import' });
  });
  const body = ast.body;
  body.forEach((node, i) => {
    let decl = node;
    if (node.type === 'ExportNamedDeclaration' || node.type === 'ExportDefaultDeclaration') {
      if (!node.declaration) return edits.push({ start: node.start, end: node.end, text: ';' });
      edits.push({ start: node.start, end: node.declaration.start, text: '' });
      decl = node.declaration;
    }
    switch (decl.type) {
      case 'ImportDeclaration': {
        const spec = JSON.stringify(decl.source.value);
        const parts = [];
        const tmp = `__cubby_m${i}`;
        parts.push(`const ${tmp} = await __cubby_import(${spec});`);
        for (const s of decl.specifiers) {
          hoisted.add(s.local.name);
          if (s.type === 'ImportDefaultSpecifier') parts.push(`${s.local.name} = ${tmp}.default;`);
          else if (s.type === 'ImportNamespaceSpecifier') parts.push(`${s.local.name} = ${tmp};`);
          else parts.push(`${s.local.name} = ${tmp}[${JSON.stringify(s.imported.name ?? s.imported.value)}];`);
        }
        edits.push({ start: decl.start, end: decl.end, text: parts.join(' ') });
        break;
      }
      case 'VariableDeclaration': {
        const assigns = [];
        for (const d of decl.declarations) {
          patternNames(d.id, []).forEach((n) => hoisted.add(n));
          if (d.init) assigns.push(`(${src(d.id)} = ${rewriteInner(code, d.init, edits)})`);
        }
        edits.push({ start: decl.start, end: decl.end, text: assigns.length ? `${assigns.join(', ')};` : ';' });
        break;
      }
      case 'FunctionDeclaration':
        hoisted.add(decl.id.name);
        fnDecls.push(`${decl.id.name} = ${rewriteInner(code, decl, edits)};`);
        edits.push({ start: decl.start, end: decl.end, text: ';' });
        break;
      case 'ClassDeclaration':
        hoisted.add(decl.id.name);
        edits.push({ start: decl.start, end: decl.end, text: `${decl.id.name} = ${rewriteInner(code, decl, edits)};` });
        break;
      case 'ExpressionStatement':
        if (i === body.length - 1 && node === decl) {
          edits.push({ start: decl.start, end: decl.start, text: 'return (' });
          edits.push({ start: decl.expression.end, end: decl.expression.end, text: ')' });
        }
        break;
    }
  });
  // Apply edits back to front; edits inside a replaced range were folded in by rewriteInner.
  const live = edits.filter((e) => !e.consumed).sort((a, b) => b.start - a.start || b.end - a.end);
  let out = code;
  for (const e of live) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  const names = [...hoisted];
  return `${names.length ? `var ${names.join(', ')};\n` : ''}(async () => {\n${fnDecls.join('\n')}\n${out}\n})()`;
}

/** The source of a node with the edits that fall inside it applied (and marked as consumed). */
function rewriteInner(code, node, edits) {
  const inner = edits.filter((e) => !e.consumed && e.start >= node.start && e.end <= node.end).sort((a, b) => b.start - a.start);
  let s = code.slice(node.start, node.end);
  for (const e of inner) {
    e.consumed = true;
    s = s.slice(0, e.start - node.start) + e.text + s.slice(e.end - node.start);
  }
  return s;
}

globalThis.__cubby_import = (spec) => {
  if (spec.startsWith('node:') || builtinModules.includes(spec)) return import(spec);
  if (spec.startsWith('.') || spec.startsWith('/')) return import(pathToFileURL(path.resolve(process.cwd(), spec)).href);
  if (/^[a-z]+:/i.test(spec)) return import(spec);
  let resolved;
  try {
    resolved = createRequire(path.join(process.cwd(), 'noop.js')).resolve(spec);
  } catch {
    return import(spec);
  }
  return import(pathToFileURL(resolved).href);
};
Object.defineProperty(globalThis, 'require', {
  configurable: true,
  get: () => createRequire(path.join(process.cwd(), 'noop.js')),
});

function errorEvent(e) {
  if (e instanceof Error) {
    // The cell's own frames only: the kernel's and node's internals below them say nothing to the user.
    const stack = (e.stack || `${e.name}: ${e.message}`).split('\n');
    const cut = stack.findIndex((l) => /\(node:vm|js_kernel\.cjs|node:internal/.test(l));
    return { type: 'error', name: e.name, value: e.message, traceback: (cut > 0 ? stack.slice(0, cut) : stack).join('\n') };
  }
  return { type: 'error', name: 'Error', value: util.inspect(e), traceback: `Uncaught ${util.inspect(e)}` };
}

let interruptCell = null; // rejects the awaited part of a cell on SIGINT
process.on('SIGINT', () => {
  if (interruptCell) interruptCell();
});
// A rejection or exception no cell awaited is reported, not fatal.
process.on('unhandledRejection', (e) => send({ ...errorEvent(e), type: 'stderr', text: `Unhandled rejection: ${util.inspect(e)}\n`, id: current }));
process.on('uncaughtException', (e) => send({ type: 'stderr', text: `Uncaught exception: ${e && e.stack}\n`, id: current }));

async function runCell(id, code, env) {
  current = id;
  executionCount++;
  const saved = {};
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  try {
    const script = rewrite(LANG === 'ts' ? transpile(code) : code);
    const pending = vm.runInThisContext(script, { filename: `cell${executionCount}`, breakOnSigint: true });
    const value = await new Promise((resolve, reject) => {
      interruptCell = () => {
        const e = new Error('Execution interrupted');
        e.name = 'KeyboardInterrupt';
        reject(e);
      };
      pending.then(resolve, reject);
    });
    if (value !== undefined) send({ type: 'result', id, is_main_result: true, text: typeof value === 'string' ? value : util.inspect(value) });
  } catch (e) {
    send({ ...errorEvent(e), id });
  } finally {
    interruptCell = null;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    send({ type: '_done', id, execution_count: executionCount });
    current = null;
  }
}

// Cells run one after another, in the order they came.
let queue = Promise.resolve();
let buf = '';
process.stdin.on('data', (chunk) => {
  buf += chunk.toString('utf8');
  let nl;
  while ((nl = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    if (!line.trim()) continue;
    const msg = JSON.parse(line);
    if (msg.setEnv) Object.assign(process.env, msg.setEnv);
    else queue = queue.then(() => runCell(msg.id, msg.code, msg.env || {}));
  }
});
process.stdin.on('end', () => process.exit(0));
send({ type: '_ready' });
