// NICs: where each attaches (--network, --bridge, --user-net, else the default network) and its MAC.
import { UsageError } from '../errors.js';
import type { Envelope, Item } from '../ovf/model.js';
import type { Mappings } from './load.js';

/** Where a NIC attaches: a libvirt network, a host bridge, or QEMU user-mode networking (SLIRP, needs no host network). */
export type NicSource = { readonly type: 'network'; readonly network: string } | { readonly type: 'bridge'; readonly bridge: string } | { readonly type: 'user' };

/** A NIC and where it is attached; `defaulted` when no networks/bridges entry named its OVF network. */
export interface PlannedNic {
  readonly source: NicSource;
  /** libvirt <model type>, e.g. e1000, vmxnet3, virtio. */
  readonly model: string;
  /** MAC address, lower case. */
  readonly mac?: string;
  readonly instanceId: string;
  readonly ovfNetwork?: string;
  readonly defaulted: boolean;
}

/** The OVF network names a descriptor uses: its NetworkSection, then every Item's Connection. */
export function ovfNetworkNames(env: Envelope): string[] {
  const names = new Set(env.networks.map((n) => n.name).filter((n) => n !== ''));
  for (const vs of env.virtualSystems) for (const item of vs.hardware.items) for (const c of item.connection) if (c !== '') names.add(c);
  return [...names];
}

/** virt-install's --network/--bridge form (network=NAME,model=M, bridge=NAME, type=...), as parsePairs splits it. */
const VIRT_INSTALL_FORM = /^(network|bridge|type|source|model|mac)=|,(model|mac|source)(=|$)/;

/**
 * Refuses a networks/bridges key that names no OVF network of the descriptor, listing its
 * networks; a key in virt-install's syntax (network=default,model=e1000) is answered with
 * virt-ovf's form, OVFNAME=NETWORK.
 * @throws UsageError (option `networks` or `bridges`).
 */
export function checkNetworkKeys(env: Envelope, opts: Pick<MapOptions, 'networks' | 'bridges'>): void {
  const known = ovfNetworkNames(env);
  const listed = known.length > 0 ? known.map((n) => `"${n}"`).join(', ') : 'none';
  for (const [option, pairs, target] of [['networks', opts.networks, 'NETWORK'], ['bridges', opts.bridges, 'BRIDGE']] as const) {
    for (const [key, value] of Object.entries(pairs ?? {})) {
      if (known.includes(key)) continue;
      const example = `${known[0] ?? 'OVFNAME'}=${target === 'NETWORK' ? 'default' : 'br0'}`;
      if (VIRT_INSTALL_FORM.test(`${key}=${value}`)) {
        throw new UsageError(
          `"${key}=${value}" is virt-install's syntax; here each OVF network is mapped as OVFNAME=${target} (this package's networks: ${listed}), e.g. "${example}"; the NIC model comes from the profile and its tables`,
          { option },
        );
      }
      throw new UsageError(`"${key}" is not a network of this package (its networks: ${listed}); map one of them as OVFNAME=${target}, e.g. "${example}"`, { option });
    }
  }
}

/** The options mapNic reads (MapOptions). */
interface MapOptions {
  readonly networks?: Readonly<Record<string, string>>;
  readonly bridges?: Readonly<Record<string, string>>;
  readonly userNetwork?: boolean;
}

/** A NIC Item's attachment, model and MAC (rasd:Address, or oVirt's MACAddress: system.json macAddressKeys). */
export function mapNic(item: Item, model: string, mappings: Mappings, opts: MapOptions): PlannedNic {
  const ovfNetwork = item.connection.find((c) => c !== '');
  // rasd:Address holds the MAC (DSP0243); oVirt writes it as <rasd:MACAddress> and may put the
  // PCI address in rasd:Address, so the first candidate that is a MAC wins.
  const candidates = [item.address, ...mappings.system.macAddressKeys.map((k) => item.extra[k])].map((v) => v?.trim());
  const mac = candidates.find((v) => v !== undefined && /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i.test(v))?.toLowerCase().replace(/-/g, ':');
  const bridge = ovfNetwork !== undefined ? opts.bridges?.[ovfNetwork] : undefined;
  const network = ovfNetwork !== undefined ? opts.networks?.[ovfNetwork] : undefined;
  const source: NicSource =
    bridge !== undefined
      ? { type: 'bridge', bridge }
      : network !== undefined
        ? { type: 'network', network }
        : opts.userNetwork
          ? { type: 'user' }
          : { type: 'network', network: mappings.defaults.defaultNetwork };
  return { instanceId: item.instanceId, model, source, defaulted: bridge === undefined && network === undefined, ...(mac ? { mac } : {}), ...(ovfNetwork !== undefined ? { ovfNetwork } : {}) };
}
