// The libvirt domain model (https://libvirt.org/formatdomain.html): one type family that import
// writes (domainToXml) and export reads (parseDomainXml). Each element's XML is declared once, in
// its module beside this one (disk.ts, interface.ts, ...), and both read and written from there.
import type { ProductSection } from '../ovf/model.js';

/** <controller type index model> ("Controllers"). */
export interface DomainController {
  /** ide, scsi, sata, usb, pci, virtio-serial, ... */
  readonly type: string;
  readonly index: number;
  /** e.g. virtio-scsi, lsilogic, vmpvscsi, qemu-xhci; absent when libvirt chooses. */
  readonly model?: string;
}

/** <address type='drive' controller bus target unit>. */
export interface DriveAddress {
  readonly controller: number;
  readonly bus: number;
  readonly target: number;
  readonly unit: number;
}

/** Where a disk's bytes are (<disk type> and <source>, "Hard drives, floppy disks, CDROMs"). */
/** A <host name port> of a network <source> (an rbd monitor, a gluster server). */
export interface NetworkHost {
  readonly name: string;
  readonly port?: number;
}

/** <auth username> with <secret type uuid|usage>: the libvirt secret QEMU is handed for a network source (formatsecret.html). */
export interface SourceAuth {
  readonly username: string;
  /** <secret type>: ceph, iscsi. */
  readonly secretType: string;
  readonly uuid?: string;
  readonly usage?: string;
}

export type DomainDiskSource =
  | { readonly type: 'file'; readonly path: string }
  | { readonly type: 'block'; readonly dev: string }
  | { readonly type: 'volume'; readonly pool: string; readonly volume: string }
  | { readonly type: 'network'; readonly protocol: string; readonly name: string; readonly hosts?: readonly NetworkHost[]; readonly auth?: SourceAuth }
  | { readonly type: 'none' };

/** <disk device>: a hard disk, CD-ROM, floppy or SCSI LUN. */
export interface DomainDisk {
  readonly device: 'disk' | 'cdrom' | 'floppy' | 'lun';
  /** <target bus>: ide, sata, scsi, virtio, usb, ... (read from the dev prefix when absent, as libvirt does). */
  readonly bus: string;
  /** <target dev>, e.g. vda, sdb, hdc. */
  readonly dev: string;
  /** <driver type>: raw, qcow2, ... */
  readonly driverType?: string;
  readonly source: DomainDiskSource;
  /** <address type='drive'>; absent for PCI-attached (virtio) disks. */
  readonly address?: DriveAddress;
  /** <readonly/>; when unset, the rules' readonlyDevices (CD-ROMs) decide. */
  readonly readonly?: boolean;
  /** <boot order>, 1-based. */
  readonly bootOrder?: number;
}

/** <interface type> ("Network interfaces"). */
export interface DomainInterface {
  /** network, bridge, user, direct, ... */
  readonly type: string;
  /** <source network>, <source bridge> or <source dev> (the attribute follows the type). */
  readonly source?: string;
  /** <model type>, e.g. virtio, e1000, vmxnet3; absent when libvirt chooses. */
  readonly model?: string;
  /** <mac address>, lower case. */
  readonly mac?: string;
}

/** <tpm model> with its <backend type version>. */
export interface DomainTpm {
  readonly model?: string;
  /** <backend type>: emulator, passthrough, external; the rules' tpmBackend when unset. */
  readonly backend?: string;
  readonly version?: string;
}

/** <input type bus>, e.g. a USB tablet. */
export interface DomainInput {
  /** tablet, mouse, keyboard. */
  readonly type: string;
  /** usb, ps2, virtio. */
  readonly bus?: string;
}

/** <channel type><target type name>, e.g. the QEMU guest agent's unix/virtio channel. */
export interface DomainChannel {
  /** unix, pty, spicevmc, ... */
  readonly type: string;
  /** virtio, guestfwd, ... */
  readonly targetType: string;
  /** e.g. org.qemu.guest_agent.0. */
  readonly targetName?: string;
}

/** <rng model><backend model>source</backend>. */
export interface DomainRng {
  /** virtio. */
  readonly model: string;
  /** random, egd, builtin. */
  readonly backendModel: string;
  /** The host device of a random backend, e.g. /dev/urandom. */
  readonly backendSource?: string;
}

/** <features> child, e.g. { name: 'acpi' } or { name: 'smm', state: 'on' }. */
export interface DomainFeature {
  readonly name: string;
  readonly state?: string;
}

/** <graphics type listen> ("Graphical framebuffers"). */
export interface DomainGraphics {
  /** vnc, spice, ... */
  readonly type: string;
  /** Listen address, e.g. 127.0.0.1. */
  readonly listen?: string;
}

/** The OVF environment of an imported domain (DSP0243 11, DSP8027), as recorded in its metadata. */
export interface OvfEnvironmentRecord {
  /** ovf:transport values of the VirtualHardwareSection, e.g. ["iso"], ["com.vmware.guestInfo"]. */
  readonly transport: readonly string[];
  /** The CD-ROM import attached ovf-env.xml on: its <target dev> and <source>. */
  readonly cdrom?: { readonly dev: string; readonly source: DomainDiskSource };
}

/** Provenance recorded in <metadata><virt-ovf:import>. */
export interface ImportMetadata {
  readonly source: string;
  readonly virtualSystem: string;
  readonly profile: string;
  /**
   * The ProductSections of the package (the collection's, then the VirtualSystem's), each
   * property with the value in force at import (`value`; none for passwords, which are not
   * recorded); per-configuration `values` and `configuration` are empty.
   */
  readonly productSections?: readonly ProductSection[];
  /** The OVF environment, when the descriptor asked for a transport or import attached one. */
  readonly environment?: OvfEnvironmentRecord;
}

/**
 * A domain definition. Sizes in bytes. Optional fields the rules give defaults for
 * (features, cpuMode, lifecycle actions, memballoon, readonly) are filled by
 * domainDefaults() before writing; the reader returns what the XML says.
 */
export interface DomainDescription {
  /** <domain type>: kvm, qemu, ... */
  readonly type?: string;
  readonly name: string;
  readonly uuid?: string;
  readonly title?: string;
  readonly description?: string;
  /** <metadata><libosinfo:libosinfo><libosinfo:os id>. */
  readonly osinfo?: string;
  /** <metadata><virt-ovf:import>. */
  readonly importMetadata?: ImportMetadata;
  /** <memory> (and <currentMemory>) in bytes; written in KiB, rounded up. */
  readonly memoryBytes: number;
  /** <vcpu>: the maximum vCPU count. */
  readonly vcpus: number;
  /** <vcpu current>: vCPUs online at boot, when fewer than `vcpus`. */
  readonly vcpusCurrent?: number;
  /** <os><type arch>, e.g. x86_64. */
  readonly arch: string;
  /** <os><type machine>, e.g. q35, pc-q35-8.2. */
  readonly machine?: string;
  /** <os firmware='efi'> (or an OVMF <loader> when read). */
  readonly firmware: 'bios' | 'efi';
  readonly secureBoot: boolean;
  /** <features> children. */
  readonly features?: readonly DomainFeature[];
  /** <cpu mode>, e.g. host-passthrough. */
  readonly cpuMode?: string;
  /** <cpu><topology>. */
  readonly topology?: { readonly sockets: number; readonly dies?: number; readonly cores: number; readonly threads: number };
  /** <clock offset>: utc, localtime, ... */
  readonly clockOffset?: string;
  readonly onPoweroff?: string;
  readonly onReboot?: string;
  readonly onCrash?: string;
  readonly controllers: readonly DomainController[];
  readonly disks: readonly DomainDisk[];
  readonly interfaces: readonly DomainInterface[];
  /** A <serial type='pty'> with its <console>. */
  readonly serialConsole: boolean;
  /** File the serial console is also logged to (<serial><log file>). */
  readonly serialLog?: string;
  readonly graphics?: DomainGraphics;
  /** <channel> devices (the guest agent's), when any. */
  readonly channels?: readonly DomainChannel[];
  /** <input> devices beyond the implicit PS/2 ones, when any. */
  readonly inputs?: readonly DomainInput[];
  /** <rng> devices, when any. */
  readonly rngs?: readonly DomainRng[];
  /** <video><model type> of each video device. */
  readonly videos: readonly { readonly model: string }[];
  /** <sound model> of each sound device. */
  readonly sounds: readonly { readonly model: string }[];
  readonly tpm?: DomainTpm;
  /** <memballoon model>: virtio or none. */
  readonly memballoon?: string;
}
