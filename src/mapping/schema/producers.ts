// Schema of mappings/producers.json: how a descriptor's producer is recognised from what it writes.
import { z } from 'zod';

/** A regular expression, checked at load. */
const pattern = z.string().refine((p) => {
  try {
    new RegExp(p, 'i');
    return true;
  } catch {
    return false;
  }
}, 'not a valid regular expression');

/** One rule: the producer is named when any one of its conditions holds. */
const ruleSchema = z.strictObject({
  /** The name reports give (inspect's "producer", the import's summary line). */
  producer: z.string().min(1),
  /** Why these conditions identify it (what the producer writes). */
  note: z.string().optional(),
  /** A namespace URI of an element or attribute (down to the VirtualHardwareSection's children) contains one of these. */
  namespaceContains: z.array(z.string().min(1)).optional(),
  /** A VirtualSystem's vssd:VirtualSystemType matches (case-insensitive). */
  systemType: pattern.optional(),
  /** The Envelope namespace is written with a trailing slash (oVirt's dialect). */
  envelopeNamespaceTrailingSlash: z.boolean().optional(),
  /** A VirtualSystem's OperatingSystemSection Description matches (case-insensitive). */
  osDescription: pattern.optional(),
  /** A VirtualSystem's AnnotationSection Annotation matches (case-insensitive). */
  annotation: pattern.optional(),
});

export const producersSchema = z.strictObject({
  $comment: z.string().optional(),
  /** Tried in order; the first rule that holds names the producer. */
  rules: z.array(ruleSchema),
  /** The name when no rule holds. */
  otherwise: z.string().min(1),
});

export type ProducerRules = z.infer<typeof producersSchema>;
export type ProducerRule = z.infer<typeof ruleSchema>;
