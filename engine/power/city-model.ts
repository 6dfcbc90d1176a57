/**
 * What the city model (../model/validate.ts) needs from the power core: the schema of electrical
 * fields, their reference checks, and the conversion of a MATPOWER `.m` file or a pandapower JSON
 * network to a city document.
 */
import { matpowerToCity } from './city.ts';
import { parseMatpower } from './matpower.ts';
import { parsePandapower } from './pandapower.ts';

export { isPandapowerDocument } from './pandapower.ts';

export { electricalSchema, gridSchema } from './schema.ts';
export { checkElectricalReferences } from './network.ts';

/** A MATPOWER case file's text as a city document (for parseCity). */
export function matpowerCityDocument(text: string, source: string): unknown {
  return matpowerToCity(parseMatpower(text, source));
}

/** A pandapower network (the parsed JSON of `pp.to_json`) as a city document (for parseCity). */
export function pandapowerCityDocument(document: unknown, source: string): unknown {
  return matpowerToCity(parsePandapower(document, source));
}
