import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ROLES, type Role } from '../protocol.ts';

/**
 * Bearer tokens and roles. Tokens are kept only as SHA-256 hashes; a presented token is hashed and
 * looked up. Sources, merged: the admin token (option, `STRATUM_ADMIN_TOKEN`, or generated),
 * `STRATUM_TOKENS` (`name:role:token,…`) and `STRATUM_TOKENS_FILE` (one entry a line, `#` comments).
 * An entry may give the token's hash instead of the token, `name:role:sha256:<64 hex>`
 * (`stratum token` prints such lines), so the file need not hold a usable secret. The file is read
 * again on `SIGHUP` or `POST /api/tokens/reload` (see `reloadTokens`).
 */

/** What a role may do. Every role reads; admin does everything. */
export type Right = 'read' | 'operate' | 'inject' | 'clock' | 'audit' | 'manage';

export const RIGHTS: Readonly<Record<Role, readonly Right[]>> = {
  viewer: ['read'],
  operator: ['read', 'operate'],
  injector: ['read', 'inject'],
  trainer: ['read', 'inject', 'clock'],
  admin: ['read', 'operate', 'inject', 'clock', 'audit', 'manage'],
};

export interface Principal {
  readonly name: string;
  readonly role: Role;
  readonly tokenHash: string;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** `RIGHTS` as a lookup table (role → right → allowed), built once: the door asks per input. */
const RIGHT_TABLE: Readonly<Record<Role, Readonly<Partial<Record<Right, true>>>>> = Object.fromEntries(
  ROLES.map((role) => [role, Object.fromEntries(RIGHTS[role].map((right) => [right, true]))]),
) as Record<Role, Partial<Record<Right, true>>>;

export function can(principal: Principal, right: Right): boolean {
  return RIGHT_TABLE[principal.role]?.[right] === true;
}

/** Thrown for a malformed token specification (bad env or file); names the entry. */
export class TokenConfigError extends Error {}

/** A token given by its hash in a token specification: `sha256:` and 64 hex digits. */
const HASHED_TOKEN = /^sha256:([0-9a-f]{64})$/i;

export class TokenStore {
  private byHash = new Map<string, Principal>();

  add(name: string, role: Role, token: string): void {
    if (token.length < 8) throw new TokenConfigError(`token for "${name}" is shorter than 8 characters`);
    this.addHash(name, role, hashToken(token));
  }

  /** Adds a principal by the SHA-256 hash (hex) of its token. */
  addHash(name: string, role: Role, tokenHash: string): void {
    const hash = tokenHash.toLowerCase();
    this.byHash.set(hash, { name, role, tokenHash: hash });
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
      const hashed = HASHED_TOKEN.exec(token);
      if (hashed !== null) this.addHash(name, role as Role, hashed[1]!);
      else if (/^sha256:/i.test(token)) throw new TokenConfigError(`${source}: the token hash of "${name}" must be sha256: and 64 hex digits`);
      else this.add(name, role as Role, token);
    }
  }

  /** The principal holding the token with this hash now (a connection checks it is still valid). */
  byTokenHash(tokenHash: string): Principal | undefined {
    return this.byHash.get(tokenHash);
  }

  /** Every principal, without its hash (for the token list an admin sees). */
  list(): Array<{ name: string; role: Role }> {
    return [...this.byHash.values()].map(({ name, role }) => ({ name, role })).sort((x, y) => x.name.localeCompare(y.name) || x.role.localeCompare(y.role));
  }

  /**
   * Takes the other store's principals in one step (a reload): a request sees the old set or the new
   * one, never a mix. Returns the names added and removed, and those whose role changed.
   */
  replaceWith(next: TokenStore): { added: string[]; removed: string[]; changed: string[] } {
    const added: string[] = [];
    const removed: string[] = [];
    const changed: string[] = [];
    for (const [hash, p] of next.byHash) {
      const old = this.byHash.get(hash);
      if (old === undefined) added.push(p.name);
      else if (old.role !== p.role || old.name !== p.name) changed.push(p.name);
    }
    for (const [hash, p] of this.byHash) if (!next.byHash.has(hash)) removed.push(p.name);
    this.byHash = new Map(next.byHash);
    return { added: [...new Set(added)].sort(), removed: [...new Set(removed)].sort(), changed: [...new Set(changed)].sort() };
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
  const given = adminToken ?? env['STRATUM_ADMIN_TOKEN'];
  const token = given ?? randomBytes(24).toString('base64url');
  return { store: configuredTokens(hashToken(token), env), adminToken: token, generated: given === undefined };
}

/**
 * The tokens as configured now: the start-up admin (by hash: a generated one exists nowhere else),
 * `STRATUM_TOKENS`, and the current content of `STRATUM_TOKENS_FILE`. Throws `TokenConfigError`
 * naming the source and entry; the caller's store is untouched then.
 */
export function configuredTokens(adminTokenHash: string, env: NodeJS.ProcessEnv): TokenStore {
  const store = new TokenStore();
  store.addHash('admin', 'admin', adminTokenHash);
  const spec = env['STRATUM_TOKENS'];
  if (spec !== undefined && spec.trim() !== '') store.addSpec(spec, 'STRATUM_TOKENS');
  const file = env['STRATUM_TOKENS_FILE'];
  if (file !== undefined && file !== '') {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new TokenConfigError(`${file}: cannot read the tokens file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    store.addSpec(text, file);
  }
  return store;
}

/** A name `stratum token` accepts: it must survive the `name:role:…` line format. */
export const TOKEN_NAME = /^[\w.@-]+$/;

/** A new random token and the `STRATUM_TOKENS_FILE` line that grants it by hash (`stratum token`). */
export function newTokenLine(name: string, role: Role, token = randomBytes(24).toString('base64url')): { token: string; line: string } {
  if (!TOKEN_NAME.test(name)) throw new TokenConfigError(`name "${name}": use letters, digits, _ . @ -`);
  if (token.length < 8) throw new TokenConfigError(`token for "${name}" is shorter than 8 characters`);
  return { token, line: `${name}:${role}:sha256:${hashToken(token)}` };
}

/** The token of an `Authorization: Bearer …` header, if any. */
export function bearer(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
  return match?.[1];
}

/** A URL (or any text) with the value of every `token=` parameter replaced by `***`, for logs. */
export function redactTokens(text: string): string {
  return text.replace(/([?&;]token=)[^&#\s]*/gi, '$1***');
}
