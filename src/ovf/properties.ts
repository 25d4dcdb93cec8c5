// ProductSection property values for one VirtualSystem: defaults, --prop overrides, type and qualifier checks (DSP0243 9.5).
import { UsageError } from '../errors.js';
import type { Envelope, OvfProperty, VirtualSystem } from './model.js';
import { propertyValue } from './parse.js';

/** A property with the value import will use. */
export interface ResolvedProperty {
  readonly key: string;
  readonly type: string;
  /** The value in force (undefined when neither a default nor --prop gives one). */
  readonly value?: string;
  readonly fromUser: boolean;
  readonly password: boolean;
  readonly userConfigurable: boolean;
  readonly label?: string;
  readonly description?: string;
  readonly qualifiers?: string;
}

const INT_RANGES: Record<string, [bigint, bigint]> = {
  uint8: [0n, 255n],
  uint16: [0n, 65535n],
  uint32: [0n, 4294967295n],
  uint64: [0n, 18446744073709551615n],
  sint8: [-128n, 127n],
  sint16: [-32768n, 32767n],
  sint32: [-2147483648n, 2147483647n],
  sint64: [-9223372036854775808n, 9223372036854775807n],
  int: [-2147483648n, 2147483647n],
};

/**
 * Why `value` is not acceptable for `p` (its ovf:type and ovf:qualifiers MinLen, MaxLen,
 * ValueMap, MinValue, MaxValue), or undefined when it is.
 */
export function propertyProblem(p: Pick<OvfProperty, 'type' | 'qualifiers'>, value: string): string | undefined {
  const type = p.type.toLowerCase();
  const range = INT_RANGES[type];
  if (range) {
    if (!/^[+-]?\d+$/.test(value.trim())) return `not an integer (ovf:type ${p.type})`;
    const n = BigInt(value.trim());
    if (n < range[0] || n > range[1]) return `out of range for ${p.type}`;
  } else if (type === 'boolean') {
    if (!/^(true|false)$/i.test(value.trim())) return 'not true or false';
  } else if (type === 'real32' || type === 'real64' || type === 'real') {
    if (!Number.isFinite(Number(value)) || value.trim() === '') return `not a number (ovf:type ${p.type})`;
  }
  for (const q of (p.qualifiers ?? '').match(/\w+\s*(\([^)]*\)|\{[^}]*\})/g) ?? []) {
    const name = q.slice(0, q.search(/[({]/)).trim();
    const arg = q.slice(q.search(/[({]/) + 1, -1);
    if (name === 'MinLen' && value.length < Number(arg)) return `shorter than ${arg} characters`;
    if (name === 'MaxLen' && value.length > Number(arg)) return `longer than ${arg} characters`;
    if (name === 'MinValue' && Number(value) < Number(arg)) return `less than ${arg}`;
    if (name === 'MaxValue' && Number(value) > Number(arg)) return `greater than ${arg}`;
    if (name === 'ValueMap') {
      const allowed = [...arg.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
      if (allowed.length > 0 && !allowed.includes(value)) return `not one of ${allowed.map((a) => `"${a}"`).join(', ')}`;
    }
  }
  return undefined;
}

/** C0 controls other than tab, LF and CR, DEL and the C1 controls: no value in the OVF environment may hold one. */
const CONTROL_CHARACTER = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

/**
 * Refuses a value in force that holds a control character (XML 1.0 cannot carry the C0 ones;
 * a guest would pass any of them on to a shell or a config file), naming the property's key.
 * @throws UsageError (option `properties`).
 */
function refuseControlCharacters(key: string, value: string, fromUser: boolean, userConfigurable: boolean): void {
  const found = CONTROL_CHARACTER.exec(value)?.[0];
  if (found === undefined) return;
  const code = `U+${found.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  const whose = fromUser ? 'the value given' : "the descriptor's value";
  const remedy = userConfigurable ? '; choose a value without control characters' : ', and the property is not ovf:userConfigurable';
  throw new UsageError(`property ${key}: ${whose} holds the control character ${code}, which the OVF environment does not carry${remedy}`, { option: 'properties' });
}

/**
 * The properties of `vs` (its own ProductSections and the collection's), filtered by the
 * deployment option in force, with --prop overrides applied and checked.
 * @throws UsageError for an unknown key, a property that is not ovf:userConfigurable, or a
 *   value its type or qualifiers refuse (a password value is never shown in the message), or a
 *   value in force, given or the descriptor's, that holds a control character (C0 other than tab,
 *   LF and CR; DEL; C1).
 */
export function resolveProperties(env: Envelope, vs: VirtualSystem, overrides: Readonly<Record<string, string>>): ResolvedProperty[] {
  const deployment = env.deployment;
  const all = [...env.productSections, ...vs.productSections].flatMap((s) => s.properties);
  const applicable = all.filter((p) => p.configuration.length === 0 || (deployment !== undefined && p.configuration.includes(deployment)));
  for (const key of Object.keys(overrides)) {
    const p = applicable.find((x) => x.key === key);
    if (!p) {
      const known = applicable.map((x) => x.key);
      throw new UsageError(`property ${key}: no such property${known.length ? ` (known: ${known.join(', ')})` : ' (the VirtualSystem has none)'}`, { option: 'properties' });
    }
    if (!p.userConfigurable) throw new UsageError(`property ${key}: the property is not ovf:userConfigurable`, { option: 'properties' });
    const problem = propertyProblem(p, overrides[key]!);
    if (problem) throw new UsageError(`property ${key}=${p.password ? '(hidden)' : JSON.stringify(overrides[key])}: ${problem}`, { option: 'properties' });
  }
  return applicable.map((p) => {
    const value = propertyValue(p, deployment, overrides);
    const fromUser = Object.hasOwn(overrides, p.key);
    if (value !== undefined) refuseControlCharacters(p.key, value, fromUser, p.userConfigurable);
    return {
      key: p.key,
      type: p.type,
      fromUser,
      password: p.password,
      userConfigurable: p.userConfigurable,
      ...(value !== undefined ? { value } : {}),
      ...(p.label ? { label: p.label } : {}),
      ...(p.description ? { description: p.description } : {}),
      ...(p.qualifiers ? { qualifiers: p.qualifiers } : {}),
    };
  });
}
