/** Shown on any 401: the token goes to sessionStorage (gone with the tab) and the page reloads its data. */
import { useState } from 'preact/hooks';
import { hasToken, storeToken } from '../lib/api-client.js';

export function Login() {
  const [token, setToken] = useState('');
  return (
    <form
      class="panel login"
      data-testid="login"
      aria-labelledby="login-h"
      onSubmit={(e) => {
        e.preventDefault();
        if (token.trim()) storeToken(token.trim());
      }}
    >
      <h1 id="login-h">Sign in</h1>
      <p>This dashboard needs the controller's bearer token (the one its API and webhook use).</p>
      {hasToken() && (
        <p class="error-box" role="alert">
          <span aria-hidden="true">✕ </span>The server refused the token of this tab: paste a valid one.
        </p>
      )}
      <label for="token">Bearer token</label>
      <input
        id="token"
        name="token"
        type="password"
        autocomplete="off"
        required
        value={token}
        onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)}
      />
      <button type="submit">Sign in</button>
      <p class="muted">Kept in this tab's session storage only, and sent to this server only.</p>
    </form>
  );
}
