// The <host> and <auth> children of a network storage <source>, as a domain disk and a storage pool both write them (formatdomain.html, formatstorage.html).
import { intText, opt, plainChild, plainChildren } from '../xml/access.js';
import type { XmlElement } from '../xml/parse.js';
import type { NetworkHost, SourceAuth } from './model.js';

/** The named <host name port> children of `source` (those without a name, Unix sockets, are left out). */
export function readHosts(source: XmlElement | undefined): NetworkHost[] {
  return plainChildren(source, 'host').flatMap((h) => {
    const name = h.attrs.get('name');
    return name ? [{ name, ...opt('port', intText(h.attrs.get('port'))) }] : [];
  });
}

/**
 * An <auth username> with its <secret uuid|usage>; the secret type is the <secret type> (a
 * domain disk) or the <auth type> (a pool). Undefined when incomplete.
 */
export function readAuth(auth: XmlElement | undefined): SourceAuth | undefined {
  const secret = plainChild(auth, 'secret');
  const username = auth?.attrs.get('username');
  const [uuid, usage, type] = [secret?.attrs.get('uuid'), secret?.attrs.get('usage'), secret?.attrs.get('type') ?? auth?.attrs.get('type')];
  if (!username || !type || (!uuid && !usage)) return undefined;
  return { username, secretType: type, ...opt('uuid', uuid), ...opt('usage', usage) };
}
