// -v tracing: real child processes and real table lookups become debug events, only while subscribed.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { describe, test } from 'node:test';
import { loadMappings, resolveProfile } from '../src/mapping/load.js';
import { matchRow } from '../src/mapping/match.js';
import type { Item } from '../src/ovf/model.js';
import type { ReportEvent, Reporter } from '../src/report.js';
import { shellQuote, traceToReporter } from '../src/trace.js';

function collecting(): Reporter & { debug: string[] } {
  const debug: string[] = [];
  return { warnings: [], debug, emit: (e: ReportEvent) => void (e.kind === 'debug' && debug.push(e.message)) };
}

const item = (fields: Partial<Item>): Item => ({ element: 'Item', index: 1, instanceId: '7', hostResource: [], connection: [], required: true, configuration: [], extra: {}, ...fields }) as Item;

describe('traceToReporter', () => {
  test('a child process: its command line as a shell would read it back, then its exit status', async () => {
    const r = collecting();
    const stop = traceToReporter(r);
    try {
      await execa('sh', ['-c', 'exit 3', "it's me"], { reject: false });
    } finally {
      stop();
    }
    assert.equal(r.debug.length, 2, r.debug.join('\n'));
    assert.match(r.debug[0]!, /^run: sh -c 'exit 3' 'it'\\''s me' \[pid \d+\]$/);
    assert.match(r.debug[1]!, /^exit 3: sh \[pid \d+\]$/);
  });

  test('the table row each Item matched, and an Item no row matches', () => {
    const mappings = loadMappings();
    const profile = resolveProfile(mappings, 'faithful');
    const tables = profile.tables.map((name) => ({ name, rows: mappings.tables[name] ?? [] }));
    const r = collecting();
    const stop = traceToReporter(r);
    try {
      matchRow(item({ resourceType: 10, resourceSubType: 'E1000', elementName: 'Network adapter 1' }), tables, []);
      matchRow(item({ instanceId: '8', resourceType: 32767 }), tables, []);
    } finally {
      stop();
    }
    assert.deepEqual(r.debug, [
      'Item InstanceID 7 ("Network adapter 1") ResourceType 10 ResourceSubType "E1000": table row devices:nic-e1000',
      'Item InstanceID 8 ResourceType 32767: no table row matches',
    ]);
  });

  test('nothing once stopped', async () => {
    const r = collecting();
    traceToReporter(r)();
    await execa('true');
    assert.deepEqual(r.debug, []);
  });
});

describe('shellQuote', () => {
  test('safe words bare, the rest single-quoted', () => {
    assert.equal(shellQuote(['qemu-img', 'convert', '-O', 'qcow2', '/a b/c.vmdk', 'json:{"x":1}', '']), `qemu-img convert -O qcow2 '/a b/c.vmdk' 'json:{"x":1}' ''`);
  });
});
