// The package of the export round trip that carries what a plain appliance lacks: a QEMU UHCI USB
// controller, four sockets of one core, and a ProductSection read through the iso transport.

/** The ProductSection's class and instance: property keys are `org.example.rt.KEY.1`. */
export const PRODUCT_CLASS = 'org.example.rt';
/** The qualified key of property `key`. */
export const propertyKey = (key: string): string => `${PRODUCT_CLASS}.${key}.1`;

const USB_ITEM = `      <Item ovf:required="false">
        <rasd:Description>USB controller</rasd:Description>
        <rasd:ElementName>USB controller</rasd:ElementName>
        <rasd:InstanceID>7</rasd:InstanceID>
        <rasd:ResourceSubType>piix3-uhci</rasd:ResourceSubType>
        <rasd:ResourceType>23</rasd:ResourceType>
      </Item>
`;

const PRODUCT_SECTION = `    <ProductSection ovf:class="${PRODUCT_CLASS}" ovf:instance="1">
      <Info>Round-trip appliance</Info>
      <Product>Round trip</Product>
      <Vendor>virt-ovf tests</Vendor>
      <Version>1.0</Version>
      <Category>Network</Category>
      <Property ovf:key="hostname" ovf:type="string" ovf:userConfigurable="true" ovf:value="default-host">
        <Label>Host name</Label>
        <Description>The guest's host name</Description>
      </Property>
      <Property ovf:key="port" ovf:type="uint16" ovf:userConfigurable="true" ovf:value="22" ovf:qualifiers="MinValue(1) MaxValue(65535)"/>
      <Category>Welcome</Category>
      <Property ovf:key="motd" ovf:type="string" ovf:userConfigurable="true" ovf:value="line one&#10;line &quot;two&quot; &amp; more"/>
      <Property ovf:key="secret" ovf:type="string" ovf:password="true" ovf:userConfigurable="true"/>
    </ProductSection>
`;

/**
 * The appliance descriptor (scripts/appliance/descriptor.ts) with: 4 vCPUs and vmw:CoresPerSocket 1,
 * a USB controller Item of ResourceSubType piix3-uhci, ovf:transport="iso" on the
 * VirtualHardwareSection and a ProductSection of four properties (one a password, one a value
 * with a newline, quotes and an ampersand).
 * @throws Error when the descriptor does not have the shape expected (the appliance changed).
 */
export function roundTripDescriptor(ovf: string): string {
  const edits: [string, string][] = [
    ['<VirtualHardwareSection>', '<VirtualHardwareSection ovf:transport="iso">'],
    ['<rasd:VirtualQuantity>1</rasd:VirtualQuantity>\n', '<rasd:VirtualQuantity>4</rasd:VirtualQuantity>\n        <vmw:CoresPerSocket ovf:required="false">1</vmw:CoresPerSocket>\n'],
    ['      <vmw:Config ovf:required="false" vmw:key="firmware"', `${USB_ITEM}      <vmw:Config ovf:required="false" vmw:key="firmware"`],
    ['  </VirtualSystem>', `${PRODUCT_SECTION}  </VirtualSystem>`],
  ];
  return edits.reduce((text, [from, to]) => {
    if (text.split(from).length !== 2) throw new Error(`the appliance descriptor has not exactly one ${JSON.stringify(from)}`);
    return text.replace(from, to);
  }, ovf);
}
