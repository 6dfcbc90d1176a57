import type { FastifyInstance } from 'fastify';

/** The twin's icon: three stacked layers (the city's networks) on the UI's dark blue. */
export const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#131c28"/>' +
  '<path d="M16 5 4 11l12 6 12-6z" fill="#5cc8ff"/><path d="m4 16 12 6 12-6" fill="none" stroke="#3fd6b4" stroke-width="2.5"/>' +
  '<path d="m4 21 12 6 12-6" fill="none" stroke="#ffc23d" stroke-width="2.5"/></svg>';

/**
 * `/favicon.ico` (what browsers ask for by themselves) and `/favicon.svg` (what the page links):
 * one SVG, served without a token and cached for a day, with or without the UI.
 */
export function registerFavicon(app: FastifyInstance): void {
  for (const url of ['/favicon.ico', '/favicon.svg']) {
    app.get(url, { schema: { hide: true } }, (_request, reply) => reply.header('content-type', 'image/svg+xml').header('cache-control', 'public, max-age=86400').send(FAVICON_SVG));
  }
}
