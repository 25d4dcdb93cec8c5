// What a descriptor shows of its producer: the namespaces it uses (mapping/producer.ts applies the rules).
import type { XmlElement } from '../xml/parse.js';

/** The evidence identifyProducer (mapping/producer.ts) reads besides the VirtualSystems. */
export interface ProducerEvidence {
  /** Namespace URIs of the elements and attributes down to the VirtualHardwareSection's children. */
  readonly namespaces: readonly string[];
  /** The Envelope namespace exactly as written (oVirt adds a trailing slash). */
  readonly envelopeNamespace: string;
}

/** Collects the namespaces of the root and three levels below it. */
export function producerEvidence(root: XmlElement): ProducerEvidence {
  const uris = new Set<string>();
  const walk = (el: XmlElement, depth: number): void => {
    uris.add(el.ns);
    for (const key of el.attrs.keys()) if (key.startsWith('{')) uris.add(key.slice(1, key.indexOf('}')));
    if (depth < 3) el.children.forEach((c) => walk(c, depth + 1));
  };
  walk(root, 0);
  return { namespaces: [...uris].filter((u) => u !== ''), envelopeNamespace: root.ns };
}
