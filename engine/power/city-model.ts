/**
 * What the city model (../model/validate.ts) needs from the power core: the schema of electrical
 * fields, their reference checks, and the conversion of a MATPOWER `.m` file to a city document.
 */
import { matpowerToCity } from './city.ts';
import { parseMatpower } from './matpower.ts';

export { electricalSchema, gridSchema } from './schema.ts';
export { checkElectricalReferences } from './network.ts';

/** A MATPOWER case file's text as a city document (for parseCity). */
export function matpowerCityDocument(text: string, source: string): unknown {
  return matpowerToCity(parseMatpower(text, source));
}
