// The OVF model: DSP0243 (OVF 1.x/2.0) sections and CIM RASD items, names as in the spec.
// One model for both directions: parseEnvelope (parse.ts) returns these types and
// writeEnvelope (write.ts) writes them (the *Input types below: the same types, fewer fields required).

/**
 * CIM_ResourceAllocationSettingData.ResourceType values (DSP0243 uses CIM 2.x;
 * https://schemas.dmtf.org/wbem/cim-html/2/CIM_ResourceAllocationSettingData.html).
 * 35 is VirtualBox's sound card; 32768 and up are vendor reserved.
 */
export const ResourceType = {
  Other: 1,
  ComputerSystem: 2,
  Processor: 3,
  Memory: 4,
  IdeController: 5,
  ParallelScsiHba: 6,
  FcHba: 7,
  IscsiHba: 8,
  IbHca: 9,
  EthernetAdapter: 10,
  OtherNetworkAdapter: 11,
  FloppyDrive: 14,
  CdDrive: 15,
  DvdDrive: 16,
  DiskDrive: 17,
  StorageExtent: 19,
  OtherStorageDevice: 20,
  SerialPort: 21,
  ParallelPort: 22,
  UsbController: 23,
  GraphicsController: 24,
  EthernetConnection: 33,
  SoundCard: 35,
} as const;

/** Envelope namespace families: 0.9 is VMware's pre-DMTF draft. */
export type OvfVersion = '0.9' | '1' | '2';

/** References/File (DSP0243 7.1). */
export interface OvfFile {
  readonly id: string;
  readonly href: string;
  /** ovf:size in bytes, when given. */
  readonly sizeBytes?: number;
  /** ovf:compression, e.g. "gzip". */
  readonly compression?: string;
  /** ovf:chunkSize in bytes: the file is split into href.000000000, href.000000001, ... */
  readonly chunkSizeBytes?: number;
}

/** DiskSection/Disk (DSP0243 9.1). */
export interface OvfDisk {
  readonly diskId: string;
  readonly fileRef?: string;
  /**
   * Virtual size in bytes (ovf:capacity times ovf:capacityAllocationUnits; a `${key}`
   * capacity is resolved from ProductSection properties). Undefined when the descriptor gives
   * none (Ganeti): import then reads the virtual size from the file.
   */
  readonly capacityBytes?: number;
  /** ovf:format URI, e.g. http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized */
  readonly format?: string;
  /** ovf:populatedSize in bytes, when given. */
  readonly populatedSizeBytes?: number;
  readonly parentRef?: string;
}

/** NetworkSection/Network (DSP0243 9.2). */
export interface OvfNetwork {
  readonly name: string;
  readonly description?: string;
}

/** One RASD `Item`, or OVF 2.0 `StorageItem` / `EthernetPortItem` (DSP0243 9.5). */
export interface Item {
  readonly element: 'Item' | 'StorageItem' | 'EthernetPortItem';
  /** 1-based position in the VirtualHardwareSection, for messages. */
  readonly index: number;
  readonly instanceId: string;
  readonly resourceType?: number;
  readonly resourceSubType?: string;
  readonly elementName?: string;
  readonly description?: string;
  readonly address?: string;
  readonly addressOnParent?: string;
  readonly parent?: string;
  readonly hostResource: readonly string[];
  readonly connection: readonly string[];
  readonly allocationUnits?: string;
  readonly virtualQuantity?: string;
  readonly virtualQuantityUnits?: string;
  readonly automaticAllocation?: boolean;
  /** ovf:required (default true per DSP0243). */
  readonly required: boolean;
  /** ovf:configuration ids this item applies to (empty: all). */
  readonly configuration: readonly string[];
  /** ovf:bound: min, max or normal. */
  readonly bound?: string;
  /** vmw:CoresPerSocket of a processor Item (VMware's extension). */
  readonly coresPerSocket?: number;
  /** vmw:Config key/value pairs inside the item. */
  readonly vmwConfig: Readonly<Record<string, string>>;
  /** Every child element by local name (first value), for dialect extensions such as oVirt's. */
  readonly extra: Readonly<Record<string, string>>;
}

/** ProductSection/Property (DSP0243 9.5). */
export interface OvfProperty {
  /** Qualified key: class.key.instance (absent parts left out). */
  readonly key: string;
  /** ovf:type, e.g. string, boolean, uint8, int, real. */
  readonly type: string;
  /** ovf:value, the default. */
  readonly value?: string;
  /** ovf:qualifiers, e.g. MinLen(1) MaxLen(64), ValueMap{"a","b"}. */
  readonly qualifiers?: string;
  /** ovf:password: the value is a secret and is never printed. */
  readonly password: boolean;
  readonly userConfigurable: boolean;
  readonly label?: string;
  readonly description?: string;
  readonly category?: string;
  /** ovf:configuration: the deployment options this property applies to (empty: all). */
  readonly configuration: readonly string[];
  /** Per-configuration <Value> children. */
  readonly values: readonly { readonly value: string; readonly configuration: readonly string[] }[];
}

/** ProductSection (DSP0243 9.5). */
export interface ProductSection {
  readonly class?: string;
  readonly instance?: string;
  readonly product?: string;
  readonly vendor?: string;
  readonly version?: string;
  readonly properties: readonly OvfProperty[];
}

/** DeploymentOptionSection/Configuration (DSP0243 9.8). */
export interface DeploymentOption {
  readonly id: string;
  readonly label?: string;
  readonly description?: string;
  /** ovf:default="true". */
  readonly isDefault: boolean;
}

/** VirtualHardwareSection (DSP0243 9.5). */
export interface VirtualHardwareSection {
  /** ovf:transport values, e.g. ["iso"] or ["com.vmware.guestInfo"]. */
  readonly transport: readonly string[];
  /** vssd:VirtualSystemType values, e.g. ["vmx-13"]. */
  readonly virtualSystemTypes: readonly string[];
  readonly items: readonly Item[];
  /** vmw:Config key/value pairs directly in the section (firmware, ...). */
  readonly vmwConfig: Readonly<Record<string, string>>;
}

/** OperatingSystemSection (DSP0243 9.9) plus producer hints. */
export interface OperatingSystemSection {
  /** ovf:id: the CIM_OperatingSystem.OsType number. */
  readonly id?: number;
  readonly version?: string;
  readonly description?: string;
  /** vmw:osType, e.g. "otherLinux64Guest". */
  readonly vmwOsType?: string;
  /** VirtualBox's vbox:OSType child, e.g. "Ubuntu_64". */
  readonly vboxOsType?: string;
}

/** VirtualSystem (DSP0243 8). */
export interface VirtualSystem {
  readonly id: string;
  readonly name?: string;
  readonly info?: string;
  readonly operatingSystem?: OperatingSystemSection;
  readonly hardware: VirtualHardwareSection;
  /** Annotation or Description text. */
  readonly annotation?: string;
  readonly productSections: readonly ProductSection[];
  /** License text of each EulaSection. */
  readonly eulas: readonly string[];
  /** Text of plain child elements of the VirtualSystem (oVirt's BiosType, ...), by local name. */
  readonly extra: Readonly<Record<string, string>>;
  /** VirtualBox's vbox:Machine/Hardware/Firmware@type (BIOS, EFI, EFI64...), when present. */
  readonly vboxFirmware?: string;
}

/** Envelope (DSP0243 7): everything import needs from the descriptor. */
export interface Envelope {
  readonly version: OvfVersion;
  /** Descriptor file name, for messages. */
  readonly file: string;
  readonly references: readonly OvfFile[];
  readonly disks: readonly OvfDisk[];
  readonly networks: readonly OvfNetwork[];
  readonly virtualSystems: readonly VirtualSystem[];
  /** Set when the top-level content is a VirtualSystemCollection. */
  readonly collection?: { readonly id: string; readonly name?: string };
  /** Producer hints found while parsing (e.g. "VirtualBox" from vbox:Machine), for reports. */
  readonly producer: string;
  readonly deploymentOptions: readonly DeploymentOption[];
  /** The DeploymentOptionSection Configuration in force (--deployment, else ovf:default, else the first). */
  readonly deployment?: string;
  /** ProductSections and EulaSections of the VirtualSystemCollection (or envelope level). */
  readonly productSections: readonly ProductSection[];
  readonly eulas: readonly string[];
  /** Oddities tolerated while parsing (e.g. an unreadable informational ovf:size). */
  readonly warnings: readonly string[];
}

/**
 * What writeEnvelope needs of an Item: any Item, only InstanceID required. `element` and
 * `index` are ignored (the writer chooses the element by ResourceType, domain.json ovf);
 * `configuration`, `bound`, `vmwConfig`, `extra` and `virtualQuantityUnits` are not written.
 * `threadsPerCore` (processor Item) is written as virt-ovf's extension element ThreadsPerCore:
 * how many of the CoresPerSocket logical CPUs are threads of one core (import reads it from
 * `extra`, by the keys of system.json threadsPerCore).
 */
export type ItemInput = Pick<Item, 'instanceId'> & Partial<Omit<Item, 'instanceId'>> & { readonly threadsPerCore?: number };

/** What writeEnvelope needs of a Disk: its capacity is required (written in bytes). */
export type DiskInput = OvfDisk & { readonly capacityBytes: number };

/**
 * What writeEnvelope needs of a VirtualSystem: id, and its hardware's system types, items and
 * vmw:Config pairs; ProductSections are written with each property's `value` (per-configuration
 * `values` and `configuration` are not written).
 */
export type VirtualSystemInput = Pick<VirtualSystem, 'id'> &
  Partial<Pick<VirtualSystem, 'name' | 'annotation' | 'operatingSystem' | 'productSections'>> & {
    readonly hardware: Pick<VirtualHardwareSection, 'virtualSystemTypes' | 'vmwConfig'> & Partial<Pick<VirtualHardwareSection, 'transport'>> & { readonly items: readonly ItemInput[] };
  };

/** What writeEnvelope needs of an Envelope: References, DiskSection, NetworkSection and exactly one VirtualSystem. */
export interface EnvelopeInput {
  readonly references: readonly OvfFile[];
  readonly disks: readonly DiskInput[];
  readonly networks: readonly OvfNetwork[];
  readonly virtualSystems: readonly VirtualSystemInput[];
}
