import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ROLES, type Role } from './protocol.ts';

/**
 * Bearer tokens and roles. Tokens are kept only as SHA-256 hashes; a presented token is hashed and
 * looked up. Sources, merged: the admin token (option, `STRATUM_ADMIN_TOKEN`, or generated),
 * `STRATUM_TOKENS` (`name:role:token,…`) and `STRATUM_TOKENS_FILE` (one `name:role:token` a line,
 * `#` comments).
 */

/** What a role may do. Every role reads; admin does everything. */
export type Right = 'read' | 'operate' | 'inject' | 'clock' | 'audit';

export const RIGHTS: Readonly<Record<Role, readonly Right[]>> = {
  viewer: ['read'],
  operator: ['read', 'operate'],
  injector: ['read', 'inject'],
  trainer: ['read', 'inject', 'clock'],
  admin: ['read', 'operate', 'inject', 'clock', 'audit'],
};

export interface Principal {
  readonly name: string;
  readonly role: Role;
  readonly tokenHash: string;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function can(principal: Principal, right: Right): boolean {
  return RIGHTS[principal.role].includes(right);
}

/** Thrown for a malformed token specification (bad env or file); names the entry. */
export class TokenConfigError extends Error {}

export class TokenStore {
  private readonly byHash = new Map<string, Principal>();

  add(name: string, role: Role, token: string): void {
    if (token.length < 8) throw new TokenConfigError(`token for "${name}" is shorter than 8 characters`);
    const tokenHash = hashToken(token);
    this.byHash.set(tokenHash, { name, role, tokenHash });
  }

  /** Parses `name:role:token` entries separated by commas or newlines. */
  addSpec(spec: string, source: string): void {
    const entries = spec.split(/[,\n]/).map((s) => s.trim()).filter((s) => s !== '' && !s.startsWith('#'));
    for (const entry of entries) {
      const [name, role, ...rest] = entry.split(':');
      const token = rest.join(':');
      if (name === undefined || name === '' || role === undefined || token === '') {
        throw new TokenConfigError(`${source}: "${entry.replace(/:[^:]*$/, ':…')}" is not name:role:token`);
      }
      if (!(ROLES as readonly string[]).includes(role)) throw new TokenConfigError(`${source}: unknown role "${role}" for "${name}" (roles: ${ROLES.join(', ')})`);
      this.add(name, role as Role, token);
    }
  }

  /** The principal for a presented bearer token, or undefined. */
  verify(token: string | undefined): Principal | undefined {
    if (token === undefined || token === '') return undefined;
    return this.byHash.get(hashToken(token));
  }

  get size(): number {
    return this.byHash.size;
  }
}

/**
 * Builds the token store from options and the environment. Returns the admin token in clear (the
 * caller prints it once when it was generated).
 */
export function tokensFromEnvironment(adminToken: string | undefined, env: NodeJS.ProcessEnv = process.env): { store: TokenStore; adminToken: string; generated: boolean } {
  const store = new TokenStore();
  const given = adminToken ?? env['STRATUM_ADMIN_TOKEN'];
  const token = given ?? randomBytes(24).toString('base64url');
  store.add('admin', 'admin', token);
  const spec = env['STRATUM_TOKENS'];
  if (spec !== undefined && spec.trim() !== '') store.addSpec(spec, 'STRATUM_TOKENS');
  const file = env['STRATUM_TOKENS_FILE'];
  if (file !== undefined && file !== '') store.addSpec(readFileSync(file, 'utf8'), file);
  return { store, adminToken: token, generated: given === undefined };
}

/** The token of an `Authorization: Bearer …` header, if any. */
export function bearer(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
  return match?.[1];
}
