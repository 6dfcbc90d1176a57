/**
 * A JSON HTTP call with an optional bearer token, for tests against a running server:
 * `const call = jsonCall(() => server.url); const { status, json } = await call('POST', '/api/inject', token, body)`.
 * (Several older test files still carry their own copy.)
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON replies, checked by each test's assertions
export type Json = any;

export function jsonCall(baseUrl: () => string): (method: string, path: string, token?: string, body?: unknown) => Promise<{ status: number; json: Json }> {
  return async (method, path, token, body) => {
    const res = await fetch(`${baseUrl()}${path}`, {
      method,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
  };
}
