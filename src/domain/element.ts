// The shape every domain element module declares: how its XML is read and how it is written.
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { LibvirtError } from '../errors.js';
import type { DomainRules } from '../mapping/schema/domain.js';
import { plainChildren } from '../xml/access.js';
import type { XmlElement } from '../xml/parse.js';
import type { DomainDescription } from './model.js';

/** A repeatable element under <devices> (disk, interface, ...): its name, reader and writer. */
export interface DomainElement<T> {
  /** The element's local name (no namespace), e.g. 'disk'. */
  readonly element: string;
  /** @param index 0-based position among its siblings of the same name, for messages. */
  read(el: XmlElement, rules: DomainRules, index: number): T;
  write(parent: XMLBuilder, value: T, rules: DomainRules): void;
}

/**
 * A part of the domain holding some of its fields (memory, os, cpu, the serial console, ...):
 * read from and written under its parent element (<domain>, or <devices> for devices).
 */
export interface DomainSection<K extends keyof DomainDescription> {
  read(parent: XmlElement | undefined, rules: DomainRules): Pick<DomainDescription, K>;
  write(parent: XMLBuilder, domain: DomainDescription, rules: DomainRules): void;
}

/** Every `e.element` child of `parent`, read. */
export function readAll<T>(parent: XmlElement | undefined, e: DomainElement<T>, rules: DomainRules): T[] {
  return plainChildren(parent, e.element).map((el, i) => e.read(el, rules, i));
}

/** The error for domain XML that cannot be read: libvirt handed over something virt-ovf does not understand. */
export function domainXmlError(why: string, cause?: unknown): LibvirtError {
  // VIR_ERR_XML_ERROR (27) from VIR_FROM_DOMAIN (20).
  const err = new LibvirtError('virDomainGetXMLDesc', 27, 20, `domain XML: ${why}`);
  if (cause !== undefined) Object.defineProperty(err, 'cause', { value: cause });
  return err;
}
