// The web shell: xterm.js over the microVM's /shell WebSocket (src/gateway/shell.ts), opened
// with a short-lived shell token the console asks for.
import { useEffect, useRef, useState } from 'preact/hooks';
import { Terminal } from '@xterm/xterm';
import { api, withTenant } from '../api.js';
import { errorText, html } from '../html.js';

const COLS = 100;
const ROWS = 24;

export function Shell({ id, tenant }: { id: string; tenant: string | undefined }) {
  const box = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState('');
  const [open, setOpen] = useState(false);
  const closeRef = useRef<() => void>(() => {});

  useEffect(() => () => closeRef.current(), []);

  const start = async () => {
    setStatus('Connecting…');
    try {
      const t = await api<{ url: string; protocol: string }>('POST', withTenant(`/console/api/microvms/${id}/shell`, tenant));
      const term = new Terminal({ cols: COLS, rows: ROWS, convertEol: false, screenReaderMode: true, fontSize: 14 });
      if (box.current) term.open(box.current);
      const ws = new WebSocket(`${t.url}?cols=${COLS}&rows=${ROWS}`, [t.protocol]);
      ws.binaryType = 'arraybuffer';
      const enc = new TextEncoder();
      ws.onopen = () => {
        setStatus('Connected');
        setOpen(true);
        term.focus();
      };
      ws.onmessage = (ev) => {
        if (typeof ev.data === 'string') {
          const msg = JSON.parse(ev.data) as { type: string; code?: number; message?: string };
          if (msg.type === 'exit') setStatus(`Shell exited (code ${msg.code})`);
          else if (msg.type === 'error') setStatus(`Error: ${msg.message}`);
          return;
        }
        term.write(new Uint8Array(ev.data as ArrayBuffer));
      };
      ws.onclose = () => {
        setOpen(false);
        setStatus((s) => (s.startsWith('Shell exited') ? s : 'Disconnected'));
      };
      ws.onerror = () => setStatus('The shell connection failed.');
      const sub = term.onData((d) => ws.readyState === WebSocket.OPEN && ws.send(enc.encode(d)));
      closeRef.current = () => {
        sub.dispose();
        ws.close();
        term.dispose();
      };
    } catch (e) {
      setStatus(errorText(e));
    }
  };

  return html`<section aria-labelledby="shell-title">
    <h3 id="shell-title">Shell</h3>
    <div class="row">
      ${!open && html`<button onClick=${start}>Open shell</button>`}
      ${open && html`<button class="secondary" onClick=${() => closeRef.current()}>Close shell</button>`}
      <span role="status" class="muted" data-testid="shell-status">${status}</span>
    </div>
    <div class="terminal" ref=${box} aria-label="Terminal"></div>
  </section>`;
}
