// The schemas of every table in mappings/, one file per table kind.
export { controllerSchema, deviceTableSchema, rowSchema, type ControllerMapping, type MappingRow } from './rows.js';
export { mergeOs, osEntrySchema, osExportSchema, osSchema, type OsEntry, type OsTables } from './os.js';
export { formatRowSchema, formatsSchema, mergeFormats, type FormatRow } from './formats.js';
export { defaultsOverlaySchema, defaultsSchema, mergeDefaults, profileSchema, type Defaults, type Profile } from './defaults.js';
