// ProductSection (DSP0243 9.5) to XML: the writing side of parse-product.ts.
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { definedAttrs, xmlSafe } from '../xml/write.js';
import type { ProductSection } from './model.js';

/**
 * The key a Property carries in its section: the qualified key (parse-product.ts writes
 * `class.key.instance`, absent parts left out) without the section's class and instance.
 */
export function propertyKeyInSection(section: Pick<ProductSection, 'class' | 'instance'>, key: string): string {
  let bare = key;
  if (section.class && bare.startsWith(`${section.class}.`)) bare = bare.slice(section.class.length + 1);
  if (section.instance && bare.endsWith(`.${section.instance}`)) bare = bare.slice(0, -(section.instance.length + 1));
  return bare;
}

/**
 * Writes one ProductSection under `parent` (a VirtualSystem) in the DSP8023 sequence: Info,
 * Product, Vendor, Version, then Category and Property elements in order (a Category element
 * before the first property of each category). Each Property carries ovf:key (unqualified,
 * see {@link propertyKeyInSection}), ovf:type, ovf:qualifiers, ovf:userConfigurable, ovf:password
 * and ovf:value when it has one, with Label and Description children; per-configuration Value
 * children are not written (the value in force is).
 */
export function writeProductSection(parent: XMLBuilder, section: ProductSection): void {
  const el = parent.ele('ProductSection', definedAttrs({ 'ovf:class': section.class ? xmlSafe(section.class) : undefined, 'ovf:instance': section.instance ? xmlSafe(section.instance) : undefined }));
  el.ele('Info').txt('Information about the installed software');
  if (section.product) el.ele('Product').txt(xmlSafe(section.product));
  if (section.vendor) el.ele('Vendor').txt(xmlSafe(section.vendor));
  if (section.version) el.ele('Version').txt(xmlSafe(section.version));
  let category: string | undefined;
  for (const p of section.properties) {
    if (p.category !== undefined && p.category !== category) el.ele('Category').txt(xmlSafe(p.category));
    category = p.category ?? category;
    const prop = el.ele(
      'Property',
      definedAttrs({
        'ovf:key': xmlSafe(propertyKeyInSection(section, p.key)),
        'ovf:type': xmlSafe(p.type),
        'ovf:qualifiers': p.qualifiers ? xmlSafe(p.qualifiers) : undefined,
        'ovf:userConfigurable': p.userConfigurable ? 'true' : undefined,
        'ovf:password': p.password ? 'true' : undefined,
        'ovf:value': p.value !== undefined ? xmlSafe(p.value) : undefined,
      }),
    );
    if (p.label) prop.ele('Label').txt(xmlSafe(p.label));
    if (p.description) prop.ele('Description').txt(xmlSafe(p.description));
  }
}
