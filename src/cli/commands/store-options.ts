/** The options of operator commands that open the data directory's store directly. */
import type { Command } from 'commander';

export type StoreOpts = { dataDir?: string; store?: string; json?: boolean };

/** Adds --data-dir, --store and --json to `cmd`. */
export function storeOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'state directory (same default as serve)')
    .option('--store <url>', 'postgres://... when the daemon keeps its store in PostgreSQL (or CUBBY_STORE; same default as serve)')
    .option('--json', 'machine-readable output');
}
