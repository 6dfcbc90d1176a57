import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ConflictError } from '../../engine/index.ts';
import { TokenConfigError, type TokenStore, errorResponses } from '../door/index.ts';
import type { Control } from '../door/index.ts';
import { ROLES } from '../protocol.ts';

/** What a token reload changed; names only, never tokens or hashes. */
export interface TokenReload {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
  /** Connections closed because their token was removed or its role changed. */
  readonly disconnected: number;
  readonly total: number;
}

export interface TokenRoutesContext {
  readonly tokens: TokenStore;
  readonly control: Control;
  /** Re-reads the configured tokens and swaps them in (throws TokenConfigError, changing nothing). */
  readonly reload: () => TokenReload;
}

const principalRow = z.object({ name: z.string(), role: z.enum(ROLES) });
const reloadReply = z.object({
  ok: z.literal(true),
  added: z.array(z.string()),
  removed: z.array(z.string()),
  changed: z.array(z.string()),
  disconnected: z.number().int(),
  total: z.number().int(),
});

/**
 * Access management for admins: who holds a token (names and roles), and a reload of the tokens
 * configuration without a restart (rotation, revocation). A reload with a broken file answers 409
 * naming the file and entry, and the tokens in force stay as they were.
 */
export function registerTokenRoutes(fastify: FastifyInstance, ctx: TokenRoutesContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get('/api/tokens', {
    config: { right: 'manage' },
    schema: { tags: ['auth'], summary: 'Who holds a token: names and roles (admin; never the tokens)', security: [{ bearer: [] }], response: { 200: z.object({ principals: z.array(principalRow) }), ...errorResponses } },
  }, () => ({ principals: ctx.tokens.list() }));
  app.post('/api/tokens/reload', {
    config: { right: 'manage' },
    schema: {
      tags: ['auth'],
      summary: 'Re-read STRATUM_TOKENS and STRATUM_TOKENS_FILE now (as SIGHUP does); clients whose token went away are disconnected (admin)',
      security: [{ bearer: [] }],
      response: { 200: reloadReply, ...errorResponses },
    },
  }, (request) => ctx.control.audited(request.principal, 'http', 'tokens.reload', null, 'manage', () => {
    try {
      return { ok: true as const, ...ctx.reload() };
    } catch (error) {
      if (error instanceof TokenConfigError) throw new ConflictError(`tokens not reloaded, the previous ones stay in force: ${error.message}`);
      throw error;
    }
  }));
}
