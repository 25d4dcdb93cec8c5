// <controller type index model> ("Controllers", formatdomain.html).
import { definedAttrs } from '../xml/write.js';
import { intText, opt } from '../xml/access.js';
import type { DomainElement } from './element.js';
import type { DomainController } from './model.js';

export const controllerElement: DomainElement<DomainController> = {
  element: 'controller',
  read: (el) => ({ type: el.attrs.get('type') ?? '', index: intText(el.attrs.get('index')) ?? 0, ...opt('model', el.attrs.get('model')) }),
  write: (devices, c) => void devices.ele('controller', definedAttrs({ type: c.type, index: c.index, model: c.model || undefined })),
};
