/**
 * `cubby-chromium`, the debian-12-chromium base's app: Chromium's headless shell with its DevTools
 * port (CDP) reachable on the sandbox's address, so the gateway reaches it and the snapshot holds
 * a started browser. Chromium listens on loopback only (it ignores --remote-debugging-address),
 * so socat relays CDP_PORT on every address to it; the relay opens only once Chromium answers, so
 * "the app port accepts connections" means a ready browser. The script stays PID 1: it ends when
 * Chromium does. The flags are what gVisor needs: no setuid/namespace sandbox (runsc forces
 * no_new_privs, and gVisor is the boundary), no GPU, shared memory in /tmp rather than the small
 * /dev tmpfs. Extra arguments are passed on to Chromium.
 */
export const CDP_PORT = 9222;

export const CHROMIUM_LAUNCHER_PATH = '/usr/local/bin/cubby-chromium';

export const CHROMIUM_LAUNCHER = `#!/bin/sh
# Headless Chromium with its DevTools port for Cubby (made by the debian-12-chromium recipe).
# CDP_PORT (default ${CDP_PORT}) and CHROMIUM_PROFILE (default /tmp/chromium-profile) may be set.
set -e
port="\${CDP_PORT:-${CDP_PORT}}"
inner=$((port + 1))
profile="\${CHROMIUM_PROFILE:-/tmp/chromium-profile}"
mkdir -p "$profile"
# Chromium keeps its config, cache and crash database under these; a sandbox may set no HOME.
export HOME="\${HOME:-$profile}" XDG_CONFIG_HOME="$profile/.config" XDG_CACHE_HOME="$profile/.cache"
/usr/lib/chromium/chromium-headless-shell \\
  --no-sandbox \\
  --disable-gpu \\
  --disable-dev-shm-usage \\
  --no-first-run \\
  --no-default-browser-check \\
  --disable-background-networking \\
  --disable-component-update \\
  --disable-breakpad \\
  --disable-crash-reporter \\
  --crash-dumps-dir="$profile/crashes" \\
  --disable-sync \\
  --metrics-recording-only \\
  --mute-audio \\
  --password-store=basic \\
  --use-mock-keychain \\
  --remote-debugging-port="$inner" \\
  --user-data-dir="$profile" \\
  "$@" \\
  about:blank &
browser=$!
relay=
trap 'kill $browser $relay 2>/dev/null; exit 143' TERM INT
until socat -u OPEN:/dev/null TCP:127.0.0.1:"$inner" 2>/dev/null; do
  kill -0 "$browser" 2>/dev/null || { echo "cubby-chromium: chromium exited before its DevTools port opened" >&2; exit 1; }
  sleep 0.05
done
socat TCP-LISTEN:"$port",bind=0.0.0.0,fork,reuseaddr TCP:127.0.0.1:"$inner" &
relay=$!
echo "cubby-chromium: DevTools on port $port"
set +e
wait "$browser"
status=$?
kill "$relay" 2>/dev/null
exit "$status"
`;
