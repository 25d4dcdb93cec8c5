// The small devices: video, sound, TPM, graphics, memballoon, and the serial console
// ("Video devices", "Sound devices", "TPM devices", "Graphical framebuffers",
// "Memory balloon device", "Consoles, serial, parallel & channel devices", formatdomain.html).
import { opt, plainChild } from '../xml/access.js';
import { definedAttrs } from '../xml/write.js';
import type { DomainElement, DomainSection } from './element.js';
import type { DomainGraphics, DomainTpm } from './model.js';

/** <video><model type>; a video without model is left out when read. */
export const videoElement: DomainElement<{ readonly model: string } | undefined> = {
  element: 'video',
  read: (el) => {
    const model = plainChild(el, 'model')?.attrs.get('type');
    return model ? { model } : undefined;
  },
  write: (devices, v) => void (v && devices.ele('video').ele('model', { type: v.model })),
};

/** <sound model>. */
export const soundElement: DomainElement<{ readonly model: string }> = {
  element: 'sound',
  read: (el) => ({ model: el.attrs.get('model') ?? '' }),
  write: (devices, s) => void devices.ele('sound', { model: s.model }),
};

/** <tpm model><backend type version>. */
export const tpmElement: DomainElement<DomainTpm> = {
  element: 'tpm',
  read: (el, rules) => {
    const backend = plainChild(el, 'backend');
    return { backend: backend?.attrs.get('type') ?? rules.defaults.tpmBackend, ...opt('model', el.attrs.get('model')), ...opt('version', backend?.attrs.get('version')) };
  },
  write: (devices, tpm, rules) =>
    void devices.ele('tpm', definedAttrs({ model: tpm.model })).ele('backend', definedAttrs({ type: tpm.backend ?? rules.defaults.tpmBackend, version: tpm.version })),
};

/** <graphics type port autoport listen><listen type address>. */
export const graphicsElement: DomainElement<DomainGraphics> = {
  element: 'graphics',
  read: (el) => ({ type: el.attrs.get('type') ?? '', ...opt('listen', el.attrs.get('listen') ?? plainChild(el, 'listen')?.attrs.get('address')) }),
  write(devices, g, rules) {
    const w = rules.write.graphics;
    const el = devices.ele('graphics', definedAttrs({ type: g.type, port: w.port, autoport: w.autoport, listen: g.listen }));
    if (g.listen !== undefined) el.ele('listen', { type: w.listenType, address: g.listen });
  },
};

/** <memballoon model>. */
export const memballoonElement: DomainElement<string> = {
  element: 'memballoon',
  read: (el) => el.attrs.get('model') ?? '',
  write: (devices, model) => void devices.ele('memballoon', { model }),
};

/** <serial type='pty'> (with an optional <log file>) and its <console>: the serial console. */
export const serialConsole: DomainSection<'serialConsole' | 'serialLog'> = {
  read(devices) {
    const serial = plainChild(devices, 'serial');
    return { serialConsole: serial !== undefined || plainChild(devices, 'console') !== undefined, ...opt('serialLog', plainChild(serial, 'log')?.attrs.get('file')) };
  },
  write(devices, domain, rules) {
    if (!domain.serialConsole) return;
    const { serial: s, console: c } = rules.write;
    const serial = devices.ele('serial', { type: s.type });
    if (domain.serialLog) serial.ele('log', { file: domain.serialLog, append: s.logAppend });
    serial.ele('target', { port: s.targetPort });
    devices.ele('console', { type: c.type }).ele('target', { type: c.targetType, port: c.targetPort });
  },
};
