/** `cubby egress-audit <id>`: a running microVM's DNS questions and allowed and denied connections. */
import type { Command } from 'commander';
import type { EgressAudit } from '../../core/ports/network.js';
import { cubbyExtension } from '../../client/extension.js';
import { print, table } from '../output.js';

export function registerEgressAudit(program: Command): void {
  program
    .command('egress-audit <id>')
    .description("a running microVM's DNS questions and its allowed and denied connections (counted, bounded)")
    .option('--json')
    .action(async (id: string, o: { json?: boolean }) => {
      const body = await cubbyExtension('GET', `/cubby/v1/microvms/${encodeURIComponent(id)}/egress-audit`);
      const audit = JSON.parse(body) as EgressAudit & { microvmId: string };
      if (o.json) return print(audit, o);
      const t = audit.dns.totals;
      process.stdout.write(
        `DNS: ${t.queries} questions, ${t.allowed} allowed, ${t.refused} refused (NXDOMAIN), ${t.failed} failed, ${t.limited} over the rate\n`,
      );
      table(
        audit.dns.questions.map((q) => ({
          name: q.name,
          type: q.type,
          verdict: q.verdict,
          count: q.count,
          last: q.lastAt,
          opened: q.opened?.join(' ') ?? '',
          blocked: q.blocked?.join(' ') ?? '',
        })),
      );
      for (const [label, list] of [
        ['allowed', audit.connections.allowed],
        ['denied', audit.connections.denied],
      ] as const) {
        process.stdout.write(`\nConnections ${label} (new flows per destination):\n`);
        table(list.map((c) => ({ address: c.address, protocol: c.protocol, port: c.port, count: c.count })));
      }
    });
}
