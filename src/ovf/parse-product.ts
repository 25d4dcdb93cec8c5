// ProductSection properties, DeploymentOptionSection and EulaSection (DSP0243 9.5, 9.7, 9.8).
import type { DeploymentOption, OvfProperty, ProductSection } from './model.js';
import { attr, child, childText, children, sectionName } from '../xml/access.js';
import type { XmlElement } from '../xml/parse.js';

type Ctx = { readonly file: string; readonly ovfNs: string };

function bool(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  return value.trim() === 'true' || value.trim() === '1';
}

function configurations(value: string | undefined): string[] {
  return value ? value.split(/\s+/).filter(Boolean) : [];
}

/**
 * Parses one ProductSection. Property keys are qualified as DSP0243 9.5 says:
 * `class.key.instance`, with the parts that are absent left out.
 */
export function parseProductSection(el: XmlElement, ctx: Ctx): ProductSection {
  const cls = attr(el, 'class', ctx);
  const instance = attr(el, 'instance', ctx);
  const properties: OvfProperty[] = [];
  let category: string | undefined;
  for (const c of el.children) {
    if (c.local === 'Category') category = c.text || undefined;
    if (c.local !== 'Property') continue;
    const key = attr(c, 'key', ctx) ?? '';
    const fullKey = [cls, key, instance].filter((p) => p !== undefined && p !== '').join('.');
    const values = children(c, 'Value').map((v) => ({ value: attr(v, 'value', ctx) ?? '', configuration: configurations(attr(v, 'configuration', ctx)) }));
    const value = attr(c, 'value', ctx);
    const qualifiers = attr(c, 'qualifiers', ctx);
    const label = childText(c, 'Label');
    const description = childText(c, 'Description');
    properties.push({
      key: fullKey,
      type: attr(c, 'type', ctx) ?? 'string',
      password: bool(attr(c, 'password', ctx), false),
      userConfigurable: bool(attr(c, 'userConfigurable', ctx), false),
      configuration: configurations(attr(c, 'configuration', ctx)),
      values,
      ...(value !== undefined ? { value } : {}),
      ...(qualifiers ? { qualifiers } : {}),
      ...(label ? { label } : {}),
      ...(description ? { description } : {}),
      ...(category ? { category } : {}),
    });
  }
  const product = childText(el, 'Product');
  const vendor = childText(el, 'Vendor');
  const version = childText(el, 'Version');
  return {
    properties,
    ...(cls ? { class: cls } : {}),
    ...(instance ? { instance } : {}),
    ...(product ? { product } : {}),
    ...(vendor ? { vendor } : {}),
    ...(version ? { version } : {}),
  };
}

/** Parses DeploymentOptionSection/Configuration elements. */
export function parseDeploymentOptions(el: XmlElement, ctx: Ctx): DeploymentOption[] {
  return children(el, 'Configuration').map((c) => {
    const label = childText(c, 'Label');
    const description = childText(c, 'Description');
    return {
      id: attr(c, 'id', ctx) ?? '',
      isDefault: bool(attr(c, 'default', ctx), false),
      ...(label ? { label } : {}),
      ...(description ? { description } : {}),
    };
  });
}

/** The License text of every EulaSection directly inside `el`. */
export function parseEulas(el: XmlElement): string[] {
  return el.children.filter((c) => sectionName(c) === 'EulaSection').map((c) => child(c, 'License')?.text ?? '');
}

/** Every ProductSection directly inside `el`. */
export function parseProductSections(el: XmlElement, ctx: Ctx): ProductSection[] {
  return el.children.filter((c) => sectionName(c) === 'ProductSection').map((c) => parseProductSection(c, ctx));
}
