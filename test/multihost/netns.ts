import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/**
 * A small virtual network made of Linux network namespaces, for testing what crosses a real
 * network: one "switch" namespace holding a bridge, one namespace per host, each joined to the
 * bridge by a veth pair, and one more veth pair that gives the root namespace (where the test's
 * client runs) an address on the same private /24. Everything it creates carries a random tag,
 * and `destroy()` removes all of it; nothing here sends a packet anywhere but to these hosts.
 *
 *                root ns: <tag>c 10.231.S.1 ──┐
 *   host ns 1: eth0 10.231.S.11 ── <tag>p1 ───┤ bridge br0 (switch ns)
 *   host ns 2: eth0 10.231.S.12 ── <tag>p2 ───┤
 *   host ns 3: eth0 10.231.S.13 ── <tag>p3 ───┘
 *
 * Cutting a host's link sets its switch port down: the host keeps running but no packet
 * reaches it or leaves it, in either direction, as when a cable or a top-of-rack link fails.
 */
export interface VirtualHost {
  readonly name: string;
  readonly namespace: string;
  readonly address: string;
  /** The host's port on the switch (in the switch namespace). */
  readonly switchPort: string;
}

export class VirtualNetwork {
  readonly tag: string;
  readonly subnet: string;
  readonly clientAddress: string;
  readonly hosts: VirtualHost[] = [];
  readonly #switchNs: string;
  readonly #clientLink: string;
  #destroyed = false;

  private constructor(tag: string, subnetOctet: number) {
    this.tag = tag;
    this.subnet = `10.231.${subnetOctet}.0/24`;
    this.clientAddress = `10.231.${subnetOctet}.1`;
    this.#switchNs = `${tag}-sw`;
    this.#clientLink = `${tag}c`;
  }

  /** Whether this process may create namespaces (root, and `ip netns` permitted); else why not. */
  static probe(): { ok: true } | { ok: false; reason: string } {
    if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux (this is ${process.platform})` };
    if (process.getuid?.() !== 0) return { ok: false, reason: 'network namespaces need root (run as root, as CI does)' };
    const probe = `mhprobe${randomBytes(3).toString('hex')}`;
    const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
    if (add.error) return { ok: false, reason: `cannot run ip (iproute2): ${add.error.message}` };
    if (add.status !== 0) return { ok: false, reason: `ip netns add is not permitted here: ${add.stderr.trim()}` };
    const veth = spawnSync('ip', ['-n', probe, 'link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1'], { encoding: 'utf8' });
    spawnSync('ip', ['netns', 'del', probe]);
    if (veth.status !== 0) return { ok: false, reason: `veth pairs are not permitted here: ${veth.stderr.trim()}` };
    return { ok: true };
  }

  /** Builds the network with `count` hosts. On any failure, removes what it had built and throws. */
  static create(count: number): VirtualNetwork {
    if (count < 1 || count > 9) throw new Error('1..9 hosts');
    sweepOrphans();
    // The tag names the creating process, so that a later run can sweep what a killed one left;
    // interface names stay under the kernel's 15 bytes.
    const tag = `mh${process.pid.toString(16).padStart(6, '0')}${(sequence++ % 36).toString(36)}`;
    const net = new VirtualNetwork(tag, pickFreeSubnet());
    try {
      net.#build(count);
    } catch (e) {
      net.destroy();
      throw e;
    }
    return net;
  }

  #build(count: number): void {
    const sw = this.#switchNs;
    const base = this.clientAddress.slice(0, this.clientAddress.lastIndexOf('.'));
    ip('netns', 'add', sw);
    ip('-n', sw, 'link', 'set', 'lo', 'up');
    ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', sw, 'link', 'set', 'br0', 'up');
    // The client's leg: one end stays in the root namespace with the .1 address.
    ip('link', 'add', this.#clientLink, 'type', 'veth', 'peer', 'name', `${this.tag}cs`);
    ip('link', 'set', `${this.tag}cs`, 'netns', sw);
    ip('-n', sw, 'link', 'set', `${this.tag}cs`, 'master', 'br0', 'up');
    ip('addr', 'add', `${this.clientAddress}/24`, 'dev', this.#clientLink);
    ip('link', 'set', this.#clientLink, 'up');
    for (let i = 1; i <= count; i++) {
      const host: VirtualHost = { name: `host${i}`, namespace: `${this.tag}-h${i}`, address: `${base}.${10 + i}`, switchPort: `${this.tag}p${i}` };
      this.hosts.push(host);
      const inner = `${this.tag}h${i}`;
      ip('netns', 'add', host.namespace);
      ip('-n', host.namespace, 'link', 'set', 'lo', 'up');
      ip('link', 'add', inner, 'type', 'veth', 'peer', 'name', host.switchPort);
      ip('link', 'set', inner, 'netns', host.namespace);
      ip('link', 'set', host.switchPort, 'netns', sw);
      ip('-n', host.namespace, 'link', 'set', inner, 'name', 'eth0');
      ip('-n', host.namespace, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0');
      ip('-n', host.namespace, 'link', 'set', 'eth0', 'up');
      ip('-n', sw, 'link', 'set', host.switchPort, 'master', 'br0', 'up');
    }
  }

  /** Takes the host's switch port down: its link is cut, both directions. */
  cut(host: VirtualHost): void {
    ip('-n', this.#switchNs, 'link', 'set', host.switchPort, 'down');
  }

  /** Brings the host's switch port back up. */
  restore(host: VirtualHost): void {
    ip('-n', this.#switchNs, 'link', 'set', host.switchPort, 'up');
  }

  /** The argv prefix that runs a command inside the host's namespace. */
  execPrefix(host: VirtualHost): string[] {
    return ['ip', 'netns', 'exec', host.namespace];
  }

  /**
   * Removes every namespace, veth and bridge this network made (idempotent, never throws).
   * Processes started in the hosts must be stopped first, or their namespaces outlive the names.
   */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const h of this.hosts) spawnSync('ip', ['netns', 'del', h.namespace]);
    spawnSync('ip', ['netns', 'del', this.#switchNs]); // takes the bridge and the ports with it
    spawnSync('ip', ['link', 'del', this.#clientLink]); // normally gone with its peer already
  }

  /** What of this network is still present (for the test's final check): names of leftovers. */
  leftovers(): string[] {
    const left: string[] = [];
    const namespaces = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
    for (const line of namespaces.split('\n')) if (line.startsWith(this.tag)) left.push(`netns ${line.split(' ')[0]}`);
    const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout ?? '';
    for (const line of links.split('\n')) {
      const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
      if (name?.startsWith(this.tag)) left.push(`link ${name}`);
    }
    return left;
  }
}

let sequence = 0;

/**
 * Removes the namespaces (and so their veths and bridges) of earlier runs whose process is gone,
 * e.g. one killed with SIGKILL before it could clean up. Only names of this helper's own form.
 */
function sweepOrphans(): void {
  const namespaces = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of namespaces.split('\n')) {
    const m = /^(mh([0-9a-f]{6})[0-9a-z])-(sw|h\d)\b/.exec(line);
    if (!m || alive(parseInt(m[2]!, 16))) continue;
    spawnSync('ip', ['netns', 'del', `${m[1]}-${m[3]}`]);
    spawnSync('ip', ['link', 'del', `${m[1]}c`]);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ip(...args: string[]): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
    throw new Error(`ip ${args.join(' ')} failed: ${stderr || String(e)}`, { cause: e });
  }
}

/** A 10.231.S.0/24 that no route or address of this machine uses yet. */
function pickFreeSubnet(): number {
  const used = execFileSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' }) + execFileSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  if (/\b10\.0\.0\.0\/8\b|\b10\.231\.0\.0\/16\b/.test(used)) throw new Error('10.231.0.0/16 overlaps a route of this machine; refusing to pick a subnet');
  const start = Math.floor(Math.random() * 200);
  for (let k = 0; k < 256; k++) {
    const s = (start + k) % 256;
    if (!used.includes(`10.231.${s}.`)) return s;
  }
  throw new Error('no free 10.231.S.0/24');
}
