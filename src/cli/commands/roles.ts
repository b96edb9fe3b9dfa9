/**
 * `cubby secret set|list` and `cubby role create|list|show|delete`: a tenant's write-only secrets
 * and the execution roles that grant them to microVMs and builds (issue 16).
 */
import type { Command } from 'commander';
import { print, table } from '../output.js';
import { createRole, deleteRole, getRole, listRoles, listSecrets, putSecret, type RoleWire } from '../../client/roles.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  // `echo value | cubby secret set NAME`: the one newline echo adds is not part of the value.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

const list = (v: string | undefined): string[] | undefined =>
  v === undefined
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

const when = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString();

function roleRow(r: RoleWire) {
  return {
    name: r.name,
    secrets: r.secrets.join(',') || '-',
    permissions: r.permissions.join(','),
    launch: r.launch ? `${r.launch.images.join(',')} (max ${r.launch.maxChildren})` : '-',
    arn: r.arn,
  };
}

export function registerRoles(program: Command): void {
  const secret = program.command('secret').description('write-only secrets your execution roles grant to microVMs and builds');
  secret
    .command('set <name>')
    .description('set (or rotate) a secret; the value is read from standard input')
    .option('--json')
    .action(async (name: string, o: { json?: boolean }) => {
      if (process.stdin.isTTY) process.stderr.write('reading the value from standard input (end with Ctrl-D)\n');
      const s = await putSecret(name, await readStdin());
      if (o.json) print(s, o);
      else process.stdout.write(`secret ${s.name} version ${s.version}\n`);
    });
  secret
    .command('list')
    .description('your secrets (names and versions; values are never shown)')
    .option('--json')
    .action(async (o: { json?: boolean }) => {
      const all = await listSecrets();
      if (o.json) print(all, o);
      else table(all.map((s) => ({ name: s.name, version: s.version, updated: when(s.updatedAt) })));
    });

  const role = program.command('role').description('execution roles: the secrets and API access a microVM (or build) gets');
  role
    .command('create <name>')
    .description("create a role; prints its ARN (use it as RunMicrovm's executionRoleArn or an image's buildRoleArn)")
    .option('--secrets <list>', 'secrets it grants, comma-separated')
    .option('--permissions <list>', 'none (default), self, launch: comma-separated')
    .option('--launch-images <list>', 'with launch: the images child microVMs may be launched from')
    .option('--max-children <n>', 'with launch: children not TERMINATED at once', (v) => Number(v))
    .option('--json')
    .action(
      async (name: string, o: { secrets?: string; permissions?: string; launchImages?: string; maxChildren?: number; json?: boolean }) => {
        const images = list(o.launchImages);
        const r = await createRole({
          name,
          secrets: list(o.secrets) ?? [],
          permissions: list(o.permissions) ?? ['none'],
          ...(images || o.maxChildren !== undefined ? { launch: { images: images ?? [], maxChildren: o.maxChildren ?? 1 } } : {}),
        });
        if (o.json) print(r, o);
        else process.stdout.write(`${r.arn}\n`);
      },
    );
  role
    .command('list')
    .option('--json')
    .action(async (o: { json?: boolean }) => {
      const all = await listRoles();
      if (o.json) print(all, o);
      else table(all.map(roleRow));
    });
  role
    .command('show <name>')
    .option('--json')
    .action(async (name: string, o: { json?: boolean }) => {
      const r = await getRole(name);
      print(o.json ? r : roleRow(r), o);
    });
  role
    .command('delete <name>')
    .description('delete a role: microVMs launched with it lose their credentials and secrets at once')
    .option('--json')
    .action(async (name: string, o: { json?: boolean }) => {
      const r = await deleteRole(name);
      if (o.json) print(r, o);
      else process.stdout.write(`deleted role ${r.name}\n`);
    });
}
