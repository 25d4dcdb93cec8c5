// The devices a profile adds that no Item describes (defaults.json addedDevices), as virt-install adds them to a new domain.
import { MappingError } from '../errors.js';
import type { DomainChannel, DomainInput, DomainRng } from '../domain/model.js';
import type { Mappings, Profile } from './load.js';

/** The added devices, as domain model parts. */
export interface AddedDevices {
  readonly inputs: readonly DomainInput[];
  readonly channels: readonly DomainChannel[];
  readonly rngs: readonly DomainRng[];
  /** <memballoon model> a row sets, overriding domain.json's memballoon rule. */
  readonly memballoon?: string;
  /** The addedDevices rows used, by id (apart from MappedSystem.rowsUsed, which counts device-table rows). */
  readonly rowsUsed: readonly string[];
}

/**
 * The devices the profile's addedDevices rows give a domain; an input row marked whenGraphics
 * only when the domain has graphics (defaults.json graphics.type is not none).
 * @throws MappingError when the profile names a row that defaults.json addedDevices lacks.
 */
export function addedDevices(mappings: Pick<Mappings, 'defaults'>, profileName: string, profile: Profile): AddedDevices {
  const inputs: DomainInput[] = [];
  const channels: DomainChannel[] = [];
  const rngs: DomainRng[] = [];
  let memballoon: string | undefined;
  const rowsUsed: string[] = [];
  const graphics = mappings.defaults.graphics.type !== 'none';
  for (const id of profile.addedDevices ?? []) {
    const row = Object.hasOwn(mappings.defaults.addedDevices, id) ? mappings.defaults.addedDevices[id] : undefined;
    if (!row) {
      throw new MappingError(`defaults.json: profile "${profileName}" adds device "${id}", which addedDevices does not define (defined: ${Object.keys(mappings.defaults.addedDevices).join(', ') || 'none'})`, { option: 'mappingsDir' });
    }
    rowsUsed.push(`defaults:addedDevices.${id}`);
    if (row.device === 'input') {
      if (row.whenGraphics !== true || graphics) inputs.push({ type: row.type, bus: row.bus });
    } else if (row.device === 'channel') channels.push({ type: row.type, targetType: row.targetType, targetName: row.targetName });
    else if (row.device === 'rng') rngs.push({ model: row.model, backendModel: row.backendModel, ...(row.backendSource !== undefined ? { backendSource: row.backendSource } : {}) });
    else memballoon = row.model;
  }
  return { inputs, channels, rngs, rowsUsed, ...(memballoon !== undefined ? { memballoon } : {}) };
}
