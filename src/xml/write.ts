// XML writing helpers shared by the domain and OVF writers (xmlbuilder2 does the serialising).

/** Replaces characters XML 1.0 cannot carry (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/FFFF) with U+FFFD. */
export function xmlSafe(text: string): string {
  return text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** The attributes of `attrs` whose value is defined, in their order, as strings (for xmlbuilder2's ele()). */
export function definedAttrs(attrs: Readonly<Record<string, string | number | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) out[name] = String(value);
  return out;
}

