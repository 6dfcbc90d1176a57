import { useState } from 'react';
import { useTwin } from '../context.ts';

export function SignIn({ onSubmit }: { onSubmit: (token: string) => void }) {
  const [token, setToken] = useState('');
  const connection = useTwin((s) => s.connection);
  return (
    <main className="signin">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (token.trim()) onSubmit(token.trim());
        }}
        aria-label="Sign in"
      >
        <h1>Stratum Twin</h1>
        <p>Sign in with your access token. Wall displays can open the page with <code>#token=…</code> in the address.</p>
        <label>
          Token
          <input type="password" autoComplete="current-password" value={token} onChange={(e) => setToken(e.target.value)} autoFocus data-testid="token" />
        </label>
        <button type="submit" disabled={!token.trim() || connection === 'connecting'} data-testid="sign-in">
          {connection === 'connecting' ? 'Connecting…' : 'Sign in'}
        </button>
        {connection === 'unauthorised' && <p className="bad" role="alert">That token was refused.</p>}
      </form>
    </main>
  );
}
