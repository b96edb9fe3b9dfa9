/**
 * `./cubby console-login`: a one-time sign-in link for the operator's web console. Works while
 * the daemon runs: the link is left in the data directory the daemon reads (daemon/console-logins.ts).
 */
import type { Command } from 'commander';
import { DEFAULT_DATA_DIR } from '../../daemon/config.js';
import { LOGIN_TTL_SECONDS, issueConsoleLogin } from '../../daemon/console-logins.js';
import { print } from '../output.js';

export function registerConsoleLogin(program: Command): void {
  program
    .command('console-login')
    .description('print a one-time operator sign-in link for the web console (valid 10 minutes)')
    .option('--data-dir <dir>', 'state directory (same default as serve)')
    .option('--url <url>', "the API listener's address as the browser reaches it (default: CUBBY_API or http://127.0.0.1:8470)")
    .option('--json', 'machine-readable output')
    .action(async (o: { dataDir?: string; url?: string; json?: boolean }) => {
      const { token, expiresAt } = await issueConsoleLogin(o.dataDir ?? DEFAULT_DATA_DIR, LOGIN_TTL_SECONDS);
      const base = (o.url ?? (process.env.CUBBY_API ? `http://${process.env.CUBBY_API}` : 'http://127.0.0.1:8470')).replace(/\/+$/, '');
      // The token rides in the fragment: browsers never send it to a server or in a Referer.
      print({ url: `${base}/console/#login=${token}`, expiresAt }, o);
    });
}
