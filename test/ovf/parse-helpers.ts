// Helpers for the parseEnvelope tests: fixtures, Items by InstanceID, refusals, a minimal envelope.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OvfParseError } from '../../src/errors.js';
import type { Envelope, Item } from '../../src/ovf/model.js';
import { parseEnvelope } from '../../src/ovf/parse.js';
import { DATA_DIR } from './helpers.js';

export function fixture(name: string): Buffer {
  return readFileSync(join(DATA_DIR, name));
}

export function parseFixture(name: string): Envelope {
  return parseEnvelope(fixture(name), name);
}

export function item(env: Envelope, instanceId: string, system = 0): Item {
  const found = env.virtualSystems[system]!.hardware.items.find((i) => i.instanceId === instanceId);
  assert.ok(found, `no Item with InstanceID ${instanceId}`);
  return found;
}

/** Asserts that parsing `text` fails with an OvfParseError whose message matches. */
export function assertRefused(text: string | Buffer, message: RegExp, file = 'bad.ovf'): OvfParseError {
  let caught: unknown;
  try {
    parseEnvelope(typeof text === 'string' ? Buffer.from(text) : text, file);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof OvfParseError, `expected OvfParseError, got ${caught === undefined ? 'success' : String(caught)}`);
  assert.match(caught.message, message);
  assert.equal(caught.file, file);
  return caught;
}

export const OVF1 = 'http://schemas.dmtf.org/ovf/envelope/1';

/** A minimal, valid OVF 1.x envelope around `body`. */
export function envelope(body: string, ns = OVF1): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Envelope xmlns="${ns}" xmlns:ovf="${ns}">\n${body}\n</Envelope>\n`;
}
