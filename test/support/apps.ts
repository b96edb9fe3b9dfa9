/** Small programs the tests run inside sandboxes (python3 is in the debian-12-python base). */

/** HTTP app on :8080 with an in-memory counter: GET / increments and returns it; GET /file?p= reads a file. */
export const COUNTER_APP = `
import http.server, os, sys, urllib.parse
count = 0
blob = bytearray(os.urandom(1024 * 1024))  # state in memory that must survive restore
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        global count
        u = urllib.parse.urlparse(self.path)
        if u.path == '/':
            count += 1; body = str(count).encode()
        elif u.path == '/peek':
            body = str(count).encode()
        elif u.path == '/file':
            p = urllib.parse.parse_qs(u.query)['p'][0]
            try: body = open(p, 'rb').read()
            except OSError as e: self.send_response(404); self.end_headers(); self.wfile.write(str(e).encode()); return
        else:
            self.send_response(404); self.end_headers(); return
        self.send_response(200); self.send_header('content-length', str(len(body))); self.end_headers(); self.wfile.write(body)
print('counter app listening', flush=True)
http.server.ThreadingHTTPServer(('0.0.0.0', 8080), H).serve_forever()
`;

export function pythonArgs(code: string): string[] {
  return ['python3', '-u', '-c', code];
}
