/** Pure IPv4 CIDR helpers (validation, carving subnets, overlap) used by config validation and the Network. */

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

export interface ParsedCidr {
  base: number; // network address as an unsigned 32-bit int
  prefix: number;
}

/** Parses "a.b.c.d/n"; returns undefined if malformed or if host bits are set. */
export function parseCidr(cidr: string): ParsedCidr | undefined {
  const m = CIDR.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const addr = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  if ((addr & ~mask) >>> 0 !== 0) return undefined;
  return { base: addr, prefix };
}

export function formatCidr(c: ParsedCidr): string {
  return `${c.base >>> 24}.${(c.base >>> 16) & 255}.${(c.base >>> 8) & 255}.${c.base & 255}/${c.prefix}`;
}

/** Like Terraform's cidrsubnet(): the netNum-th subnet with `newBits` more prefix bits. */
export function cidrSubnet(parent: string, newBits: number, netNum: number): string {
  const p = parseCidr(parent);
  if (!p) throw new Error(`malformed CIDR ${parent}`);
  const prefix = p.prefix + newBits;
  if (prefix > 28) throw new Error(`${parent} cannot be split into /${prefix} subnets (AWS allows /16 to /28)`);
  if (netNum < 0 || netNum >= 2 ** newBits) throw new Error(`subnet number ${netNum} out of range for ${newBits} new bits`);
  return formatCidr({ base: (p.base + netNum * 2 ** (32 - prefix)) >>> 0, prefix });
}

export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y) return false;
  const size = (c: ParsedCidr) => 2 ** (32 - c.prefix);
  return x.base < y.base + size(y) && y.base < x.base + size(x);
}

/**
 * Subnet layout of a created VPC: the VPC is cut into 16 equal blocks; public subnets take
 * blocks 0..n-1 and private subnets blocks 8..8+n-1 (so up to 8 AZs and room to grow).
 */
export function subnetLayout(vpcCidr: string, azCount: number): { public: string[]; private: string[] } {
  const idx = Array.from({ length: azCount }, (_, i) => i);
  return { public: idx.map((i) => cidrSubnet(vpcCidr, 4, i)), private: idx.map((i) => cidrSubnet(vpcCidr, 4, 8 + i)) };
}
