/**
 * `--tls self-signed`: a local certificate authority under <dataDir>/tls and a server certificate
 * it signs for the domain, *.<domain>, localhost and 127.0.0.1. Node can read certificates but not
 * build them, so the `openssl` CLI (a Debian package, in scripts/install-system.sh) makes them.
 * The CA is made once and kept (clients trust it once); the server certificate is remade when the
 * domain changes or it nears expiry. Private keys are 0600 in a 0700 directory.
 */
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** The CA a client must trust (self-signed mode only). */
  caPath?: string;
}

const CA_DAYS = 3650;
// Below 825 days: the most some clients accept for a server certificate.
const SERVER_DAYS = 800;
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

/** The domain's certificate signed by the data directory's CA, made or reused. */
export async function ensureSelfSigned(dataDir: string, domain: string, now: () => number = Date.now): Promise<TlsMaterial> {
  const dir = path.join(dataDir, 'tls');
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const f = {
    ca: path.join(dir, 'ca.pem'),
    caKey: path.join(dir, 'ca-key.pem'),
    cert: path.join(dir, 'server.pem'),
    key: path.join(dir, 'server-key.pem'),
  };
  if (!(await usableCa(f.ca, f.caKey, now()))) {
    // prettier-ignore
    await openssl([
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', f.caKey, '-out', f.ca, '-days', String(CA_DAYS),
      '-subj', `/CN=Cubby local CA ${randomBytes(4).toString('hex')}`,
      '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await fs.chmod(f.caKey, 0o600);
    await fs.rm(f.cert, { force: true }); // signed by the old CA
  }
  if (!(await usableServerCert(f.cert, f.key, f.ca, domain, now()))) await issueServerCert(dir, f, domain);
  const [cert, key] = await Promise.all([fs.readFile(f.cert), fs.readFile(f.key)]);
  return { cert, key, caPath: f.ca };
}

/** Names the server certificate covers: what `<id>.<domain>` and `<port>-<id>.<domain>` need. */
export function serverNames(domain: string): string[] {
  return [`DNS:${domain}`, `DNS:*.${domain}`, 'DNS:localhost', 'IP:127.0.0.1'];
}

async function issueServerCert(dir: string, f: { ca: string; caKey: string; cert: string; key: string }, domain: string): Promise<void> {
  const tmp = path.join(dir, `.issue-${process.pid}-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(tmp, { mode: 0o700 });
  try {
    const csr = path.join(tmp, 'server.csr');
    const ext = path.join(tmp, 'ext.cnf');
    const key = path.join(tmp, 'server-key.pem');
    const cert = path.join(tmp, 'server.pem');
    await fs.writeFile(
      ext,
      [
        `subjectAltName=${serverNames(domain).join(',')}`,
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
        '',
      ].join('\n'),
    );
    // prettier-ignore
    await openssl([
      'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', csr, '-subj', `/CN=${domain}`,
    ]);
    // prettier-ignore
    await openssl([
      'x509', '-req', '-in', csr, '-CA', f.ca, '-CAkey', f.caKey,
      '-set_serial', `0x${randomBytes(16).toString('hex')}`,
      '-days', String(SERVER_DAYS), '-extfile', ext, '-out', cert,
    ]);
    await fs.chmod(key, 0o600);
    // Key first, then certificate: a crash in between leaves a pair that fails the check, not a
    // certificate for a key that is gone.
    await fs.rename(key, f.key);
    await fs.rename(cert, f.cert);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

async function usableCa(caFile: string, keyFile: string, now: number): Promise<boolean> {
  const [pem, key] = await Promise.all([readOrUndefined(caFile), readOrUndefined(keyFile)]);
  if (!pem || !key) return false;
  try {
    const ca = new X509Certificate(pem);
    return ca.ca && Date.parse(ca.validTo) - now > RENEW_BEFORE_MS;
  } catch {
    return false;
  }
}

async function usableServerCert(certFile: string, keyFile: string, caFile: string, domain: string, now: number): Promise<boolean> {
  const [pem, key, caPem] = await Promise.all([readOrUndefined(certFile), readOrUndefined(keyFile), readOrUndefined(caFile)]);
  if (!pem || !key || !caPem) return false;
  try {
    const cert = new X509Certificate(pem);
    const ca = new X509Certificate(caPem);
    if (!cert.verify(ca.publicKey) || !cert.checkPrivateKey(createPrivateKey(key))) return false;
    if (Date.parse(cert.validTo) - now < RENEW_BEFORE_MS) return false;
    // Same names as this domain needs, or it is remade (the domain changed).
    const want = serverNames(domain).map((n) => n.replace(/^IP:/, 'IP Address:'));
    const have = (cert.subjectAltName ?? '').split(',').map((s) => s.trim());
    return want.length === have.length && want.every((n) => have.includes(n));
  } catch {
    return false;
  }
}

async function readOrUndefined(file: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new Error('--tls self-signed needs the openssl command (Debian package openssl)');
    throw new Error(`openssl ${args[0]} failed: ${(err.stderr ?? err.message).trim().slice(0, 500)}`);
  }
}

/** `--tls-cert`/`--tls-key`: the operator's certificate chain and key, read once at start. */
export async function readTlsFiles(certFile: string, keyFile: string): Promise<TlsMaterial> {
  const [cert, key] = await Promise.all([fs.readFile(certFile), fs.readFile(keyFile)]);
  try {
    new X509Certificate(cert);
  } catch (e) {
    throw new Error(`--tls-cert ${certFile}: not a PEM certificate (${(e as Error).message})`);
  }
  return { cert, key };
}
