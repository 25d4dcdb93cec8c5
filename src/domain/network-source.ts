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
 * The libvirt secret usage type (<usage type>, a domain disk's <secret type>) of a storage pool's
 * <auth type> (formatstorage.html, formatsecret.html: a chap pool logs in with an iscsi secret,
 * a ceph pool with a ceph secret).
 */
export const POOL_AUTH_SECRET_USAGE: Readonly<Record<string, string>> = { chap: 'iscsi', ceph: 'ceph' };

/**
 * An <auth username> with its <secret uuid|usage>; the secret type is the <secret type> (a
 * domain disk) or the usage type of the <auth type> (a pool: chap → iscsi, ceph → ceph).
 * Undefined when incomplete.
 */
export function readAuth(auth: XmlElement | undefined): SourceAuth | undefined {
  const secret = plainChild(auth, 'secret');
  const username = auth?.attrs.get('username');
  const authType = auth?.attrs.get('type');
  const poolType = authType !== undefined && Object.hasOwn(POOL_AUTH_SECRET_USAGE, authType) ? POOL_AUTH_SECRET_USAGE[authType] : authType;
  const [uuid, usage, type] = [secret?.attrs.get('uuid'), secret?.attrs.get('usage'), secret?.attrs.get('type') ?? poolType];
  if (!username || !type || (!uuid && !usage)) return undefined;
  return { username, secretType: type, ...opt('uuid', uuid), ...opt('usage', usage) };
}
