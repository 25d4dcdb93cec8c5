// Devices a guest's drivers and agents use: <input> (a USB tablet for pointer sync over VNC),
// <channel> (the QEMU guest agent's virtio-serial port) and <rng> (virtio-rng)
// ("Input devices", "Channel", "Random number generator device", formatdomain.html).
import { opt, plainChild } from '../xml/access.js';
import { definedAttrs } from '../xml/write.js';
import type { DomainElement } from './element.js';
import type { DomainChannel, DomainInput, DomainRng } from './model.js';

/** <input type bus>. */
export const inputElement: DomainElement<DomainInput> = {
  element: 'input',
  read: (el) => ({ type: el.attrs.get('type') ?? '', ...opt('bus', el.attrs.get('bus')) }),
  write: (devices, input) => void devices.ele('input', definedAttrs({ type: input.type, bus: input.bus })),
};

/** <channel type><target type name/>: libvirt picks the unix socket path (source mode bind). */
export const channelElement: DomainElement<DomainChannel> = {
  element: 'channel',
  read: (el) => {
    const target = plainChild(el, 'target');
    return { type: el.attrs.get('type') ?? '', targetType: target?.attrs.get('type') ?? '', ...opt('targetName', target?.attrs.get('name')) };
  },
  write: (devices, c) => void devices.ele('channel', { type: c.type }).ele('target', definedAttrs({ type: c.targetType, name: c.targetName })),
};

/** <rng model><backend model>SOURCE</backend>. */
export const rngElement: DomainElement<DomainRng> = {
  element: 'rng',
  read: (el) => {
    const backend = plainChild(el, 'backend');
    return { model: el.attrs.get('model') ?? '', backendModel: backend?.attrs.get('model') ?? '', ...opt('backendSource', backend?.text || undefined) };
  },
  write(devices, rng) {
    const backend = devices.ele('rng', { model: rng.model }).ele('backend', { model: rng.backendModel });
    if (rng.backendSource !== undefined) backend.txt(rng.backendSource);
  },
};
