import { BlockList, isIP } from 'node:net';
import { Reply } from 'zeromq';
import type { Logger } from '../observability/logger.ts';

/** Where libzmq asks for ZAP decisions (RFC 27), in the process's default context. */
const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';

/** An IP allow-list: addresses (`10.0.0.5`, `::1`) and subnets (`10.0.0.0/8`). */
export function ipAllowList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address);
    if (family === 0) throw new RangeError(`not an IP address or subnet: ${JSON.stringify(entry)}`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

/** Whether an address libzmq reports (IPv4, IPv6 or IPv4-mapped IPv6) is on the list. */
export function ipAllowed(list: BlockList, address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const ip = mapped ?? address;
  const family = isIP(ip);
  if (family === 0) return false;
  return list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
}

interface Domain {
  list: BlockList;
  logger: Logger;
  denied: number;
}

/**
 * The process's ZAP handler: a socket bound at inproc://zeromq.zap.01 that libzmq asks about every
 * connection to a socket with a `zapDomain`, answering 200 for an allowed peer IP and 400 otherwise.
 * One per process (libzmq allows one per context); each endpoint registers its own domain.
 */
class ZapHandler {
  private socket?: Reply;
  private readonly domains = new Map<string, Domain>();

  /** Starts answering for `domain` with this allow-list; returns a function that stops it. */
  async register(domain: string, list: BlockList, logger: Logger): Promise<() => Promise<void>> {
    if (this.domains.has(domain)) throw new Error(`ZAP domain ${domain} is registered already`);
    this.domains.set(domain, { list, logger, denied: 0 });
    if (!this.socket) {
      const socket = new Reply({ linger: 0 });
      this.socket = socket;
      await socket.bind(ZAP_ENDPOINT);
      void this.serve(socket);
    }
    return async () => {
      this.domains.delete(domain);
      if (this.domains.size === 0 && this.socket) {
        const socket = this.socket;
        this.socket = undefined;
        socket.close();
      }
    };
  }

  /** Connections refused for a domain so far. */
  denied(domain: string): number {
    return this.domains.get(domain)?.denied ?? 0;
  }

  private async serve(socket: Reply): Promise<void> {
    try {
      for await (const frames of socket) {
        const [version, requestId, domainFrame, addressFrame] = frames;
        const domainName = domainFrame?.toString() ?? '';
        const address = addressFrame?.toString() ?? '';
        const domain = this.domains.get(domainName);
        const ok = domain !== undefined && ipAllowed(domain.list, address);
        if (domain && !ok) {
          domain.denied++;
          domain.logger.warn({ peer: address, domain: domainName }, `refused a connection from ${address}: not in the job endpoint's allow_ips`);
        }
        await socket.send([version ?? '1.0', requestId ?? '', ok ? '200' : '400', ok ? 'OK' : 'address not allowed', '', '']);
      }
    } catch {
      // Closed while waiting: nothing is left to answer.
    }
  }
}

/** The process's one ZAP handler. */
export const zapHandler = new ZapHandler();
