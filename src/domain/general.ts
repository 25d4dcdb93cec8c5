// <domain type>, <name>, <uuid>, <title>, <description> ("General metadata"), and <memory>,
// <currentMemory>, <vcpu> ("Memory Allocation", "CPU Allocation"), formatdomain.html.
import { intText, opt, plainChild } from '../xml/access.js';
import { xmlSafe } from '../xml/write.js';
import { domainXmlError, type DomainSection } from './element.js';
import { scaledToBytes } from './scaled.js';

export const identitySection: DomainSection<'type' | 'name' | 'uuid' | 'title' | 'description'> = {
  read(root) {
    const name = plainChild(root, 'name')?.text;
    if (!name) throw domainXmlError('<name> is missing');
    return {
      name,
      ...opt('type', root?.attrs.get('type')),
      ...opt('uuid', plainChild(root, 'uuid')?.text),
      ...opt('title', plainChild(root, 'title')?.text),
      ...opt('description', plainChild(root, 'description')?.text),
    };
  },
  write(dom, d) {
    dom.ele('name').txt(d.name);
    if (d.uuid) dom.ele('uuid').txt(d.uuid);
    if (d.title) dom.ele('title').txt(xmlSafe(d.title));
    if (d.description) dom.ele('description').txt(xmlSafe(d.description));
  },
};

/** Memory is read with its unit (the rules' read.memoryUnit when absent) and written in KiB, rounded up; <currentMemory> is written equal to <memory>. */
export const memorySection: DomainSection<'memoryBytes' | 'vcpus' | 'vcpusCurrent'> = {
  read(root, rules) {
    const memory = plainChild(root, 'memory');
    if (!memory) throw domainXmlError('<memory> is missing');
    const vcpu = plainChild(root, 'vcpu');
    const vcpus = intText(vcpu?.text ?? '1');
    if (vcpus === undefined || vcpus < 1) throw domainXmlError(`<vcpu> "${vcpu?.text}" is not a positive integer`);
    const current = intText(vcpu?.attrs.get('current'));
    return {
      memoryBytes: scaledToBytes(memory.text, memory.attrs.get('unit'), '<memory>', rules.read.memoryUnit),
      vcpus,
      ...opt('vcpusCurrent', current !== undefined && current < vcpus ? current : undefined),
    };
  },
  write(dom, d, rules) {
    const kib = String(Math.ceil(d.memoryBytes / 1024));
    dom.ele('memory', { unit: rules.write.memoryUnit }).txt(kib);
    dom.ele('currentMemory', { unit: rules.write.memoryUnit }).txt(kib);
    const current = d.vcpusCurrent !== undefined && d.vcpusCurrent < d.vcpus ? { current: d.vcpusCurrent } : {};
    dom.ele('vcpu', { placement: rules.write.vcpuPlacement, ...current }).txt(String(d.vcpus));
  },
};
