/**
 * Pipeline specs: parse (JSON/YAML, every Pachyderm spelling), apply Pachyderm's defaults,
 * validate with Pachyderm's messages, and render the `list pipeline` INPUT shorthand.
 *
 * Typical use (the controller's create/update path):
 *
 *   for (const parsed of parseSpecs(text, { file })) {
 *     validateParsedSpec(parsed);                       // PPS_SPEC_INVALID, with line/column
 *     const spec = applyDefaults(parsed.spec, { now }); // what gets stored
 *   }
 */
export type * from './types.js';
export { REPROCESS_SPECS, CONNECTOR_KINDS } from './types.js';
export { parseSpecs, parseSpecValue, type ParseOptions } from './parse.js';
export {
  applyDefaults,
  cleanGlob,
  inputChildren,
  visitInputs,
  DEFAULT_BATCH_DELAY,
  DEFAULT_BATCH_MESSAGES,
  DEFAULT_DATUM_TRIES,
  DEFAULT_INPUT_BRANCH,
  DEFAULT_OUTPUT_BRANCH,
  DEFAULT_PARALLELISM,
  DEFAULT_REPROCESS_SPEC,
  DEFAULT_SERVICE_TYPE,
  DEFAULT_USER_IMAGE,
  type DefaultsOptions,
} from './defaults.js';
export { validateSpec, validateParsedSpec, parseCronSpec, isValidMarker, type CronSchedule, type ValidateOptions } from './validate.js';
export { inputShorthand } from './input-shorthand.js';
export { parseDuration } from './duration.js';
