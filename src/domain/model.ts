// The libvirt domain model produced by the mapping (https://libvirt.org/formatdomain.html).

/** <controller type index model>. */
export interface ControllerSpec {
  readonly type: 'ide' | 'scsi' | 'sata' | 'usb' | 'virtio-serial';
  readonly index: number;
  readonly model?: string;
}

/** <address type='drive' controller bus target unit>. */
export interface DriveAddress {
  readonly controller: number;
  readonly bus: number;
  readonly target: number;
  readonly unit: number;
}

/** Where a disk's bytes come from in the final domain. */
export type DiskSource =
  | { readonly type: 'volume'; readonly pool: string; readonly volume: string }
  | { readonly type: 'file'; readonly path: string }
  | { readonly type: 'none' };

/** <disk type device>. */
export interface DiskSpec {
  readonly device: 'disk' | 'cdrom';
  /** <target bus>. */
  readonly bus: 'ide' | 'scsi' | 'sata' | 'virtio' | 'usb';
  /** <target dev>, e.g. sda, hdc, vda. */
  readonly dev: string;
  /** <driver type>: qcow2 or raw. */
  readonly format: 'qcow2' | 'raw';
  readonly source: DiskSource;
  readonly address?: DriveAddress;
  readonly readonly?: boolean;
  /** <boot order>, 1-based. */
  readonly bootOrder?: number;
}

/** <interface type>. */
export interface InterfaceSpec {
  readonly source:
    | { readonly type: 'network'; readonly network: string }
    | { readonly type: 'bridge'; readonly bridge: string }
    /** QEMU user-mode networking (SLIRP): needs no host network, works with embedded and session drivers. */
    | { readonly type: 'user' };
  /** <model type>, e.g. e1000, vmxnet3, virtio. */
  readonly model: string;
  /** <mac address>, lower case. */
  readonly mac?: string;
}

/** Everything written into the domain XML. */
export interface DomainSpec {
  /** <domain type>. */
  readonly type: 'kvm' | 'qemu';
  readonly name: string;
  readonly uuid: string;
  readonly title?: string;
  readonly description?: string;
  /** <memory unit='KiB'>. */
  readonly memoryKiB: number;
  readonly vcpus: number;
  readonly topology?: { readonly sockets: number; readonly cores: number; readonly threads: number };
  readonly arch: string;
  /** <os><type machine>: pc or q35. */
  readonly machine: string;
  readonly firmware: 'bios' | 'efi';
  readonly secureBoot: boolean;
  /** libosinfo id, recorded in <metadata><libosinfo:libosinfo>. */
  readonly osinfo?: string;
  readonly clockOffset: 'utc' | 'localtime';
  readonly controllers: readonly ControllerSpec[];
  readonly disks: readonly DiskSpec[];
  readonly interfaces: readonly InterfaceSpec[];
  readonly video?: { readonly model: string };
  readonly sounds: readonly { readonly model: string }[];
  readonly tpm?: { readonly model: string; readonly version: string };
  readonly serialConsole: boolean;
  /** Optional file the serial console is also logged to (<serial><log file>). */
  readonly serialLog?: string;
  readonly graphics?: { readonly type: 'vnc' | 'spice'; readonly listen: string };
}
