import type { FastifyInstance } from 'fastify';

/**
 * A POST whose route needs nothing may come without a body — `curl -X POST …/run`, or with
 * `content-type: application/json` and nothing after it. Fastify validates a missing body as
 * `null` (so optional bodies are declared `.nullish()`) but refuses an empty JSON body outright;
 * this parser lets the empty one through as "no body" too.
 */
export function acceptEmptyBodies(app: FastifyInstance): void {
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (String(body).trim() === '') return done(null, undefined);
    json(request, String(body), done);
  });
}
