// The producer of a descriptor, by the rules of mappings/producers.json over what parseEnvelope recorded.
import type { Envelope } from '../ovf/model.js';
import type { Mappings } from './load.js';
import type { ProducerRule } from './schema/producers.js';

/** True when any one condition of the rule holds for the envelope. */
function holds(rule: ProducerRule, env: Envelope): boolean {
  const { namespaces, envelopeNamespace } = env.producerEvidence;
  const systems = env.virtualSystems;
  const test = (pattern: string | undefined, values: readonly (string | undefined)[]): boolean =>
    pattern !== undefined && values.some((v) => v !== undefined && new RegExp(pattern, 'i').test(v.trim()));
  return (
    (rule.namespaceContains ?? []).some((part) => namespaces.some((ns) => ns.includes(part))) ||
    test(rule.systemType, systems.flatMap((s) => s.hardware.virtualSystemTypes)) ||
    (rule.envelopeNamespaceTrailingSlash === true && envelopeNamespace.endsWith('/envelope/1/')) ||
    test(rule.osDescription, systems.map((s) => s.operatingSystem?.description)) ||
    test(rule.annotation, systems.map((s) => s.annotation))
  );
}

/**
 * Names the tool that most likely wrote the descriptor (producers.json: the first rule that
 * holds, else its `otherwise`), for reports and the few dialect rules that depend on it (oVirt's
 * OS ids).
 */
export function identifyProducer(env: Envelope, mappings: Pick<Mappings, 'producers'>): string {
  return mappings.producers.rules.find((r) => holds(r, env))?.producer ?? mappings.producers.otherwise;
}
