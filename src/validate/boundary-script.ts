/**
 * The tenant boundary probe as a plain POSIX sh script (the image may have no python), and the
 * parser of what it prints. Each result is one line "CUBBY_PROBE <name> <value...>"; the marker
 * is assembled at run time so the echoed script itself never matches.
 */

export interface BoundaryScriptInput {
  marker: string;
  hostPath: string;
  /** Ports to try on the microVM's gateway address (the host end of its link). */
  gatewayPorts: number[];
  /** host:port targets on the host's own addresses. */
  hostTargets: string[];
  /** host:port outside the host that egress must not reach. */
  egressTarget?: string;
}

const TCP_TIMEOUT_S = 3;

export function boundaryScript(i: BoundaryScriptInput): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return (
    [
      'P=CUBBY; P="${P}_PROBE"',
      'r() { echo "$P $*"; }',
      'r begin',
      'r kernel "$(uname -r 2>/dev/null)"',
      'r uid "$(id -u 2>/dev/null)"',
      // Processes: how many, which, and whether the host's marker process is among them.
      'n=0; seen=no; names=""',
      `for d in /proc/[0-9]*; do n=$((n+1)); c=$(cat "$d/cmdline"); case "$c" in *${i.marker}*) seen=yes;; esac; names="$names,$(cat "$d/comm")"; done 2>/dev/null`,
      'r procs "$n" "$seen" "$names"',
      `if [ -e ${q(i.hostPath)} ] || [ -e ${q(`${i.hostPath}/host-only`)} ]; then r hostfile seen; else r hostfile absent; fi`,
      // The default gateway from /proc/net/route (little-endian hex) is the host end of the link.
      'gw=""; if [ -r /proc/net/route ]; then while read ifc dst g rest; do if [ "$dst" = 00000000 ]; then gw=$g; fi; done < /proc/net/route; fi',
      'gwip=""; if [ ${#gw} -eq 8 ]; then a=${gw#??????}; b=${gw#????}; b=${b%??}; c=${gw#??}; c=${c%????}; d=${gw%??????}; gwip=$(printf "%d.%d.%d.%d" "0x$a" "0x$b" "0x$c" "0x$d"); fi',
      'r gateway "${gwip:-none}"',
      'T=none; if command -v timeout >/dev/null 2>&1; then if command -v bash >/dev/null 2>&1; then T=bash; elif command -v nc >/dev/null 2>&1; then T=nc; fi; fi',
      'r tool "$T"',
      `tcp() { if [ "$T" = bash ]; then timeout ${TCP_TIMEOUT_S} bash -c "exec 3<>/dev/tcp/$1/$2" >/dev/null 2>&1; else timeout ${TCP_TIMEOUT_S} nc -z -w 2 "$1" "$2" >/dev/null 2>&1; fi; }`,
      'try() { h=${2%:*}; p=${2##*:}; if tcp "$h" "$p"; then r "$1" "$2" open; else r "$1" "$2" closed; fi; }',
      `targets=""; if [ -n "$gwip" ]; then for p in ${i.gatewayPorts.join(' ')}; do targets="$targets $gwip:$p"; done; fi`,
      `targets="$targets ${i.hostTargets.join(' ')}"`,
      'if [ "$T" != none ]; then',
      '  for t in $targets; do try net "$t" & done',
      ...(i.egressTarget ? [`  try egress ${q(i.egressTarget)} &`] : []),
      '  wait',
      'fi',
      'r end',
      'exit 0',
    ].join('\n') + '\n'
  );
}

export interface BoundaryFindings {
  complete: boolean;
  kernel?: string;
  uid?: string;
  processes?: { count: number; markerSeen: boolean; names: string[] };
  hostFileSeen?: boolean;
  gateway?: string;
  tool?: string;
  net: Array<{ target: string; open: boolean }>;
  egress: Array<{ target: string; open: boolean }>;
}

export function parseBoundaryOutput(output: string): BoundaryFindings {
  const f: BoundaryFindings = { complete: false, net: [], egress: [] };
  let begun = false;
  for (const line of output.split('\n')) {
    const m = /CUBBY_PROBE (\S+) ?(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, name, rest = ''] = m;
    const words = rest.split(' ');
    if (name === 'begin') begun = true;
    else if (name === 'end') f.complete = begun;
    else if (name === 'kernel') f.kernel = rest;
    else if (name === 'uid') f.uid = rest;
    else if (name === 'procs')
      f.processes = { count: Number(words[0]), markerSeen: words[1] === 'yes', names: (words[2] ?? '').split(',').filter(Boolean) };
    else if (name === 'hostfile') f.hostFileSeen = rest === 'seen';
    else if (name === 'gateway') f.gateway = rest;
    else if (name === 'tool') f.tool = rest;
    else if (name === 'net' || name === 'egress') f[name].push({ target: words[0] ?? '', open: words[1] === 'open' });
  }
  return f;
}
