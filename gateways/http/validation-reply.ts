import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

/**
 * The 400 reply to a request its route's zod schema refused: every problem with its path
 * (`querystring.limit`, `body.share`, …) and reason. The engine's routes and a gateway's reads
 * answer with it, so a refusal reads the same wherever it was served. Undefined: not a validation error.
 */
export function validationRefusal(error: unknown): { message: string; problems: { path: string; reason: string }[] } | undefined {
  if (!hasZodFastifySchemaValidationErrors(error)) return undefined;
  const problems = error.validation.map((v) => {
    const path = `${error.validationContext ?? 'body'}${v.instancePath.replace(/\//g, '.')}`.replace(/\.$/, '');
    // A missing body reaches validation as null: say what is missing, not "received null".
    const missing = path === 'body' && /received null/.test(v.message ?? '');
    return { path, reason: missing ? 'a JSON body is required (content-type: application/json)' : (v.message ?? 'invalid') };
  });
  return { message: `invalid request: ${problems.map((p) => `${p.path}: ${p.reason}`).join('; ')}`, problems };
}
