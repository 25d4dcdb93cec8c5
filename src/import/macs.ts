// The MAC policy of an import, like VirtualBox's import option: keep the OVF's MACs, drop them, or keep them unless a domain on the host already has them.
import { LibvirtError, UsageError } from '../errors.js';
import { ErrorCode, listAllDomains, type Connection, type Domain } from '../libvirt/index.js';
import type { PlannedNic } from '../mapping/nics.js';
import type { Reporter } from '../report.js';
import { parseXml, type XmlElement } from '../xml/parse.js';

/**
 * What happens to the MAC addresses the descriptor gives its NICs: `keep` them, drop them all
 * (`new`: libvirt generates one for each NIC, 52:54:00:…), or `auto`: keep each one unless a
 * domain defined on the connection already uses it, then drop it with a warning.
 */
export type MacPolicy = 'keep' | 'new' | 'auto';

/** The policies, for option checks and the CLI's choices. */
export const MAC_POLICIES: readonly MacPolicy[] = ['keep', 'new', 'auto'];

/** The NICs after the policy, and what was dropped and why. */
export interface MacDecision {
  readonly nics: readonly PlannedNic[];
  readonly warnings: readonly string[];
}

/**
 * MAC address (lower case) → the names of the domains on the connection whose interfaces use
 * it, from each domain's current definition (virConnectListAllDomains, virDomainGetXMLDesc); a
 * domain undefined while it is read is skipped.
 * @throws LibvirtError when libvirt cannot list the domains or read a definition.
 */
export async function macsInUse(conn: Connection): Promise<Map<string, string[]>> {
  const used = new Map<string, string[]>();
  const domains = await listAllDomains(conn);
  try {
    for (const d of domains) {
      const read = await definitionOf(d);
      if (read === undefined) continue;
      const { name, xml } = read;
      for (const mac of interfaceMacs(xml)) {
        const names = used.get(mac) ?? [];
        if (!names.includes(name)) used.set(mac, [...names, name]);
      }
    }
  } finally {
    for (const d of domains) d.free();
  }
  return used;
}

/** A listed domain's name and XML; undefined when it was undefined meanwhile (VIR_ERR_NO_DOMAIN, another client). */
async function definitionOf(d: Domain): Promise<{ name: string; xml: string } | undefined> {
  try {
    return { name: d.name(), xml: await d.xml() };
  } catch (err) {
    if (err instanceof LibvirtError && (err.code === ErrorCode.NO_DOMAIN || err.code === ErrorCode.INVALID_DOMAIN)) return undefined;
    throw err;
  }
}

/** Every devices/interface/mac@address of a domain XML, lower case. */
export function interfaceMacs(xml: string): string[] {
  const root = parseXml(xml, 'domain XML');
  const devices = root.children.find((c) => c.local === 'devices');
  const macs: string[] = [];
  for (const iface of devices?.children.filter((c: XmlElement) => c.local === 'interface') ?? []) {
    const address = iface.children.find((c) => c.local === 'mac')?.attrs.get('address');
    if (address) macs.push(address.toLowerCase());
  }
  return macs;
}

/**
 * Applies the policy to the planned NICs. `inUse` (macsInUse) is needed by `auto` only; without
 * it (print-xml, no connection) `auto` keeps every MAC.
 */
export function applyMacPolicy(nics: readonly PlannedNic[], policy: MacPolicy, inUse?: ReadonlyMap<string, readonly string[]>): MacDecision {
  const warnings: string[] = [];
  const out = nics.map((nic) => {
    if (nic.mac === undefined || policy === 'keep') return nic;
    const owners = policy === 'auto' ? inUse?.get(nic.mac) : undefined;
    if (policy === 'auto' && owners === undefined) return nic;
    if (owners !== undefined) {
      warnings.push(`NIC InstanceID ${nic.instanceId}: MAC ${nic.mac} is already used by domain ${owners.join(', ')}; libvirt generates a new one (--mac-policy keep keeps it)`);
    }
    const { mac: _dropped, ...rest } = nic;
    return rest;
  });
  return { nics: out, warnings };
}

/** What withMacPolicy needs of an ImportPlan (plan.ts): its NICs and its warnings. */
export interface PlanWithNics {
  readonly mapped: { readonly nics: readonly PlannedNic[] };
  readonly warnings: readonly string[];
}

/**
 * The plan with the policy applied to its NICs (ImportOptions.macPolicy, default `auto`); each
 * dropped MAC is a warning, emitted and added to the plan's warnings.
 * @throws UsageError (option `macPolicy`) for a policy that is not keep, new or auto;
 *   LibvirtError when `auto` cannot list the connection's domains.
 */
export async function withMacPolicy<P extends PlanWithNics>(conn: Connection | undefined, plan: P, policy: string | undefined, reporter: Reporter): Promise<P> {
  const chosen = (policy ?? 'auto') as MacPolicy;
  if (!MAC_POLICIES.includes(chosen)) throw new UsageError(`MAC policy "${policy}" is not one of ${MAC_POLICIES.join(', ')}`, { option: 'macPolicy' });
  const needsHost = chosen === 'auto' && conn !== undefined && plan.mapped.nics.some((n) => n.mac !== undefined);
  const decision = applyMacPolicy(plan.mapped.nics, chosen, needsHost ? await macsInUse(conn) : undefined);
  for (const message of decision.warnings) reporter.emit({ kind: 'warning', message });
  if (decision.nics === plan.mapped.nics || (decision.warnings.length === 0 && chosen !== 'new')) return plan;
  return { ...plan, mapped: { ...plan.mapped, nics: decision.nics }, warnings: [...plan.warnings, ...decision.warnings] };
}
