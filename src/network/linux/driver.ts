import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EgressAudit, EgressPolicy, NetworkPort, NetworkSweepReport, SandboxNetwork } from '../../core/ports/network.js';
import { CubbyError, asCubbyError } from '../../errors/index.js';
import type { ErrorCode } from '../../errors/index.js';
import { DEFAULT_ADDRESS_POLICY, type AddressPolicy } from '../../util/address-policy.js';
import { DnsResolver, type Opening } from './dns/resolver.js';
import { hostUpstreams, type Upstream } from './dns/upstreams.js';
import { MAX_QUESTIONS } from './dns/audit.js';
import { MAX_CONNECTIONS, readConnections } from './egress-audit.js';
import { chainRules, normalizePolicy } from './egress-policy.js';
import { describeFailure, exec } from './exec.js';
import { createLinks, removeLinks } from './links.js';
import { hostIf, netnsName, netnsPath, sandboxIf } from './naming.js';
import { DNS_ADDRESS, addSandboxScript, baseScript, chainScript, openScript, removeSandboxScript } from './nft-scripts.js';
import { AddressPool, DEFAULT_POOL_CIDR, type SlotAddresses } from './pool.js';
import { isAlive, selfIdentity } from './process-identity.js';
import { type SlotRecord, SlotStore } from './slots.js';
import { listSlotResources } from './host-resources.js';
import { clearCredentialsPort, initCredentialsTable, setCredentialsPort } from './credentials-nft.js';

export const DEFAULT_STATE_DIR = '/run/cubby/net';

export interface LinuxNetworkOptions {
  /** Host-wide: every process sharing the pool must use the same one (slot files live here). */
  stateDir?: string;
  poolCidr?: string;
  /** The operator's address policy: which private ranges egress may reach (default: none). */
  addresses?: AddressPolicy;
  /** Where Cubby's resolver forwards sandboxes' queries; default: the host's /etc/resolv.conf nameservers. */
  dnsUpstreams?: Upstream[];
  /** This process's credentials listener: each sandbox's 169.254.170.2:80 goes there (credentials-nft.ts). */
  credentialsPort?: number;
}

/** An unreadable slot file younger than this may be a claim being written: leave it. */
const FRESH_CLAIM_MS = 30_000;

async function nft(script: string, code: ErrorCode, what: string): Promise<void> {
  const res = await exec('nft', ['-f', '-'], { input: script });
  if (res.code !== 0) {
    throw new CubbyError(code, `${what}: ${describeFailure('nft', ['-f', '-'], res)}`, { details: { stderr: res.stderr } });
  }
}

/** The network port on Linux: a netns, a veth pair and a /30 per sandbox, egress in nftables. */
export class LinuxNetwork implements NetworkPort {
  readonly pool: AddressPool;
  readonly slots: SlotStore;
  /** Slots this process is allocating right now: its own sweep must not take them. */
  private readonly inflight = new Set<number>();
  private ready: Promise<void> | undefined;
  private readonly addresses: AddressPolicy;
  private readonly credentialsPort: number | undefined;
  private readonly resolver: DnsResolver;
  readonly resolvConf: string;

  constructor(opts: LinuxNetworkOptions = {}) {
    this.addresses = opts.addresses ?? DEFAULT_ADDRESS_POLICY;
    this.credentialsPort = opts.credentialsPort;
    this.pool = new AddressPool(opts.poolCidr ?? DEFAULT_POOL_CIDR);
    const stateDir = opts.stateDir ?? DEFAULT_STATE_DIR;
    this.slots = new SlotStore(stateDir);
    this.resolvConf = join(stateDir, 'resolv.conf');
    this.resolver = new DnsResolver({
      upstreams: opts.dnsUpstreams ?? hostUpstreams(),
      addresses: this.addresses,
      open: (index: number, openings: Opening[]) =>
        nft(openScript(index, openings), 'NETWORK_SETUP_FAILED', `opening resolved addresses for ${netnsName(index)}`),
    });
  }

  /**
   * Prepares the host once per process: the slot directory, the shared nft tables, and
   * `net.ipv4.ip_forward=1`. Forwarding is what lets an `internet` or `allowlist` sandbox out at
   * all; it is host-wide, and the forward chain drops whatever a sandbox is not allowed.
   */
  init(): Promise<void> {
    this.ready ??= (async () => {
      await this.slots.init();
      await this.writeResolvConf();
      await nft(baseScript(this.pool.text), 'NETWORK_SETUP_FAILED', 'creating the cubby nft tables');
      if (this.credentialsPort !== undefined) await initCredentialsTable();
      const fwd = '/proc/sys/net/ipv4/ip_forward';
      if ((await readFile(fwd, 'utf8')).trim() !== '1') await writeFile(fwd, '1');
    })().catch((e: unknown) => {
      this.ready = undefined;
      throw asCubbyError(e, 'NETWORK_SETUP_FAILED');
    });
    return this.ready;
  }

  async allocate(owner: string, policy: EgressPolicy): Promise<SandboxNetwork> {
    if (typeof owner !== 'string' || owner.length === 0)
      throw new CubbyError('CUBBY_VALIDATION', 'network owner must be a non-empty string');
    const normalized = normalizePolicy(policy, this.addresses);
    await this.init();
    const me = selfIdentity();
    const createdAt = new Date().toISOString();
    const index = await this.slots.claimFree(this.pool.size, randomInt(this.pool.size), (i) => ({
      owner,
      pid: me.pid,
      pidStart: me.start,
      createdAt,
      sandboxAddress: this.pool.addresses(i).sandboxAddress,
      policy: normalized,
    }));
    if (index === null)
      throw new CubbyError('NETWORK_POOL_EXHAUSTED', `all ${this.pool.size} network slots of ${this.pool.text} are taken`);
    this.inflight.add(index);
    const addrs = this.pool.addresses(index);
    try {
      // A slot nobody held may still have leftovers from a crashed process: ours now, so clear them.
      if (existsSync(netnsPath(index)) || existsSync(`/sys/class/net/${hostIf(index)}`)) await removeLinks(index);
      await createLinks(index, addrs);
      await nft(
        addSandboxScript(index, addrs.sandboxAddress, chainRules(index, normalized, this.pool.text, this.addresses)),
        'NETWORK_SETUP_FAILED',
        `adding egress rules for ${netnsName(index)}`,
      );
      if (this.credentialsPort !== undefined) await setCredentialsPort(index, this.credentialsPort);
      await this.resolver.attach(index, addrs.hostAddress, addrs.sandboxAddress, normalized).catch((e: unknown) => {
        throw new CubbyError('NETWORK_SETUP_FAILED', `starting the DNS resolver of ${netnsName(index)}: ${(e as Error).message}`);
      });
      return this.describe(index, addrs, normalized, owner);
    } catch (e) {
      await this.teardown(index, [addrs.sandboxAddress]).catch(() => {});
      await this.slots.free(index).catch(() => {});
      throw asCubbyError(e, 'NETWORK_SETUP_FAILED');
    } finally {
      this.inflight.delete(index);
    }
  }

  async adopt(net: SandboxNetwork, owner: string): Promise<SandboxNetwork> {
    if (typeof owner !== 'string' || owner.length === 0)
      throw new CubbyError('CUBBY_VALIDATION', 'network owner must be a non-empty string');
    await this.init();
    const rec = await this.slots.read(net.index);
    if (!rec || (net.owner !== undefined && rec.owner !== net.owner)) {
      throw new CubbyError('NETWORK_SETUP_FAILED', `${net.netnsName} is not held by ${net.owner ?? 'its owner'}`);
    }
    await this.slots.rewrite(net.index, { ...rec, owner });
    return { ...net, owner };
  }

  async setPolicy(net: SandboxNetwork, policy: EgressPolicy): Promise<void> {
    const normalized = normalizePolicy(policy, this.addresses);
    await this.init();
    // Re-filling the chain of a released slot would leave a stray chain behind.
    const rec = await this.slots.read(net.index);
    if (rec === undefined || (rec !== null && net.owner !== undefined && rec.owner !== net.owner)) {
      throw new CubbyError('NETWORK_SETUP_FAILED', `${net.netnsName} is not allocated to this sandbox`);
    }
    await nft(
      chainScript(net.index, chainRules(net.index, normalized, this.pool.text, this.addresses)),
      'NETWORK_SETUP_FAILED',
      `replacing egress rules of ${net.netnsName}`,
    );
    if (rec) await this.slots.rewrite(net.index, { ...rec, policy: normalized });
    if (this.resolver.has(net.index)) this.resolver.setPolicy(net.index, normalized);
    else await this.resolver.attach(net.index, net.hostAddress, net.sandboxAddress, normalized);
    net.policy = normalized;
  }

  async release(net: SandboxNetwork): Promise<void> {
    await this.init();
    const rec = await this.slots.read(net.index);
    if (rec === undefined) {
      // Already released, or a release that died half way: finish it if the slot is still free.
      const me = selfIdentity();
      const claim: SlotRecord = { owner: net.owner ?? '', pid: me.pid, pidStart: me.start, createdAt: new Date().toISOString() };
      if (!(await this.slots.claim(net.index, claim))) return;
      try {
        await this.teardown(net.index, [net.sandboxAddress]);
      } finally {
        await this.slots.free(net.index);
      }
      return;
    }
    // Unreadable means someone is writing a fresh claim: not ours any more.
    if (rec === null || (net.owner !== undefined && rec.owner !== net.owner)) return;
    await this.teardown(net.index, [net.sandboxAddress]);
    await this.slots.free(net.index);
  }

  async sweep(isLive: (owner: string) => boolean): Promise<NetworkSweepReport> {
    await this.init();
    const removed = new Set<string>();
    // Anti-spoofing entries as they are, so a slot's are removed whatever pool made them.
    const sources = new Map((await listSlotResources()).map((r) => [r.index, r.sourceAddresses]));
    const failures: CubbyError[] = [];
    const reap = async (index: number, marker: string | null, recorded?: string): Promise<void> => {
      if (marker === null) return;
      try {
        await this.teardown(index, this.knownAddresses(index, recorded, ...(sources.get(index) ?? [])));
      } catch (e) {
        // Hand the slot back as it was, so a later sweep tries again.
        await this.slots.abortReap(index, marker);
        failures.push(asCubbyError(e, 'NETWORK_TEARDOWN_FAILED'));
        return;
      }
      await this.slots.endReap(marker);
      removed.add(netnsName(index));
    };
    for (const entry of await this.slots.list()) {
      if (this.inflight.has(entry.index)) continue;
      if (entry.kind === 'reaping') {
        // A sweeper that died half way: finish its work.
        if (isAlive(entry.reaper)) continue;
        await reap(entry.index, await this.slots.beginReap(entry.index, { file: entry.file }));
        continue;
      }
      const rec = entry.record;
      if (rec === null) {
        if (Date.now() - entry.mtimeMs < FRESH_CLAIM_MS) continue;
      } else {
        if (isLive(rec.owner)) {
          await this.serveAdopted(entry.index, rec);
          continue;
        }
        if (rec.pid !== process.pid && isAlive({ pid: rec.pid, start: rec.pidStart })) continue;
      }
      await reap(entry.index, await this.slots.beginReap(entry.index, { expected: rec }), rec?.sandboxAddress);
    }
    // Leftovers that no slot file holds: take the slot (so nobody allocates it meanwhile), clear it.
    const me = selfIdentity();
    for (const orphan of await listSlotResources()) {
      if (this.inflight.has(orphan.index) || (await this.slots.isTaken(orphan.index))) continue;
      const claim: SlotRecord = { owner: '', pid: me.pid, pidStart: me.start, createdAt: new Date().toISOString() };
      if (!(await this.slots.claim(orphan.index, claim))) continue;
      try {
        await this.teardown(orphan.index, this.knownAddresses(orphan.index, ...orphan.sourceAddresses));
        removed.add(netnsName(orphan.index));
      } catch (e) {
        failures.push(asCubbyError(e, 'NETWORK_TEARDOWN_FAILED'));
      } finally {
        await this.slots.free(orphan.index);
      }
    }
    // Everything else was still swept; the first failure is reported with what was removed.
    const first = failures[0];
    if (first) {
      throw new CubbyError('NETWORK_TEARDOWN_FAILED', `sweep: ${failures.length} network(s) not removed: ${first.message}`, {
        details: { removed: [...removed], failures: failures.map((f) => f.message) },
        cause: first,
      });
    }
    return { removed: [...removed] };
  }

  async egressAudit(sandboxAddress: string): Promise<EgressAudit | undefined> {
    const index = this.resolver.indexOf(sandboxAddress);
    const dns = this.resolver.audit(sandboxAddress);
    if (index === undefined || dns === undefined) return undefined;
    return { dns, connections: await readConnections(index), limits: { questions: MAX_QUESTIONS, connections: MAX_CONNECTIONS } };
  }

  /** Stops this instance's resolver (the sandboxes' rules stay; a new instance serves them again). */
  async close(): Promise<void> {
    await this.resolver.close();
  }

  /**
   * A live sandbox's network that a process now gone (a daemon before its restart) held: this
   * process serves its DNS from now on, under the policy its slot file recorded.
   */
  private async serveAdopted(index: number, rec: SlotRecord): Promise<void> {
    // Another live process serves its own networks; this process's own (a daemon restarted in-process) are taken over.
    if (DnsResolver.served(index) || (rec.pid !== process.pid && isAlive({ pid: rec.pid, start: rec.pidStart }))) return;
    if (index >= this.pool.size) return;
    const a = this.pool.addresses(index);
    if (rec.sandboxAddress !== a.sandboxAddress || !existsSync(`/sys/class/net/${hostIf(index)}`)) return;
    let policy: EgressPolicy = { mode: 'closed' };
    try {
      if (rec.policy) policy = normalizePolicy(rec.policy, this.addresses);
    } catch {
      /* a policy this operator no longer allows resolves nothing */
    }
    await this.resolver.attach(index, a.hostAddress, a.sandboxAddress, policy).catch(() => undefined);
  }

  /** The file sandboxes mount as /etc/resolv.conf, written once (atomically) per host boot. */
  private async writeResolvConf(): Promise<void> {
    const text = `# Cubby's resolver (the only DNS a sandbox reaches)\nnameserver ${DNS_ADDRESS}\n`;
    if ((await readFile(this.resolvConf, 'utf8').catch(() => '')) === text) return;
    const tmp = `${this.resolvConf}.${process.pid}.tmp`;
    await writeFile(tmp, text, { mode: 0o644 });
    await rename(tmp, this.resolvConf);
  }

  /** The anti-spoofing addresses to remove for a slot: the recorded ones, else this pool's. */
  private knownAddresses(index: number, ...recorded: (string | undefined)[]): string[] {
    const known = recorded.filter((a): a is string => typeof a === 'string');
    if (known.length > 0) return [...new Set(known)];
    return index < this.pool.size ? [this.pool.addresses(index).sandboxAddress] : ['0.0.0.0'];
  }

  /** Removes a slot's rules and links, whichever exist; the caller holds the slot. */
  private async teardown(index: number, sandboxAddresses: string[]): Promise<void> {
    await DnsResolver.release(index);
    // Both halves are tried even when one fails, so a failure leaves as little as possible.
    const results = await Promise.allSettled([
      nft(removeSandboxScript(index, sandboxAddresses), 'NETWORK_TEARDOWN_FAILED', `removing egress rules of ${netnsName(index)}`),
      removeLinks(index),
      clearCredentialsPort(index),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw asCubbyError(failed.reason, 'NETWORK_TEARDOWN_FAILED');
  }

  private describe(index: number, a: SlotAddresses, policy: EgressPolicy, owner: string): SandboxNetwork {
    return {
      index,
      netnsName: netnsName(index),
      netnsPath: netnsPath(index),
      hostInterface: hostIf(index),
      sandboxInterface: sandboxIf(index),
      hostAddress: a.hostAddress,
      sandboxAddress: a.sandboxAddress,
      prefixLength: a.prefixLength,
      policy,
      owner,
    };
  }
}
