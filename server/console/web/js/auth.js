// People log in with the authorization code flow and PKCE (S256) against the auth service. The
// tokens live in sessionStorage: they survive a reload of the tab and go away with it.

const SESSION_KEY = 'aurora.session';
const PENDING_KEY = 'aurora.login';

/** base64url encodes bytes without padding (RFC 7636 appendix A). */
export function base64url(bytes) {
  let bin = '';
  for (const b of new Uint8Array(bytes)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(n = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(n)));
}

/** pkceChallenge is the S256 code challenge of a verifier. */
export async function pkceChallenge(verifier) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(digest);
}

/** decodeJWT returns the claims of a JWT without verifying it: the API verifies, this only displays. */
export function decodeJWT(token) {
  const part = (token || '').split('.')[1];
  if (!part) throw new Error('the access token is not a JWT');
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
}

/** Auth holds the session: discovery, login, the code exchange, refresh, tenant switch, logout. */
export class Auth {
  constructor(config) {
    this.config = config;
    this.redirectURI = config.redirectURL || `${location.origin}${config.basePath}`;
    this.discovery = null;
    this.session = load(SESSION_KEY);
    this.listeners = new Set();
  }

  /** onChange registers a function called whenever the session changes. */
  onChange(f) { this.listeners.add(f); }

  emit() { for (const f of this.listeners) f(this.session); }

  async discover() {
    if (this.discovery) return this.discovery;
    const url = `${this.config.issuer}/.well-known/openid-configuration`;
    let res;
    try {
      res = await fetch(url, { credentials: 'omit' });
    } catch (e) {
      throw new Error(`cannot reach the auth service at ${this.config.issuer}: ${e.message}`);
    }
    if (!res.ok) throw new Error(`the auth service's discovery document answered ${res.status}`);
    this.discovery = await res.json();
    return this.discovery;
  }

  /** login sends the browser to the auth service's login page; returnTo is the route to come back to. */
  async login(returnTo = location.hash) {
    const d = await this.discover();
    const verifier = randomString(48);
    const state = randomString(24);
    sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state, returnTo }));
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: this.config.clientId,
      redirect_uri: this.redirectURI,
      code_challenge: await pkceChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    location.assign(`${d.authorization_endpoint}?${q}`);
  }

  /**
   * completeLogin finishes a login when the page was opened by the auth service's redirect. It
   * returns false when the URL carries no answer of the auth service, and throws on errors.
   */
  async completeLogin() {
    const q = new URLSearchParams(location.search);
    if (!q.has('code') && !q.has('error')) return false;
    const pending = load(PENDING_KEY);
    sessionStorage.removeItem(PENDING_KEY);
    history.replaceState(null, '', `${location.pathname}${pending && pending.returnTo ? pending.returnTo : ''}`);
    if (q.has('error')) {
      throw new Error(`the login failed: ${q.get('error_description') || q.get('error')}`);
    }
    if (!pending || pending.state !== q.get('state')) {
      throw new Error('the login answer does not match a login started here (state differs); please log in again');
    }
    const tokens = await this.token({
      grant_type: 'authorization_code',
      code: q.get('code'),
      redirect_uri: this.redirectURI,
      client_id: this.config.clientId,
      code_verifier: pending.verifier,
    });
    this.store(tokens);
    return true;
  }

  async token(params) {
    const d = await this.discover();
    let res;
    try {
      res = await fetch(d.token_endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: new URLSearchParams(params),
        credentials: 'omit',
      });
    } catch (e) {
      throw new Error(`cannot reach the token endpoint: ${e.message}`);
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      throw new Error(`the token endpoint refused: ${body.error_description || body.error || res.status}`);
    }
    return body;
  }

  store(tokens) {
    const claims = decodeJWT(tokens.access_token);
    this.session = {
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token || (this.session && this.session.refreshToken) || '',
      expiresAt: Date.now() + (tokens.expires_in ? tokens.expires_in * 1000 : (claims.exp * 1000 - Date.now())),
      claims,
    };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(this.session));
    this.emit();
  }

  /** principal is who is logged in: type, name, organization, environment, scopes, roles, tenants. */
  get principal() {
    if (!this.session) return null;
    const c = this.session.claims || {};
    const p = c.principal || {};
    return { ...p, tenants: p.tenants || c.tenants || [], scopes: p.scopes || (c.scope ? c.scope.split(' ') : []), roles: p.roles || [] };
  }

  get loggedIn() { return Boolean(this.session && this.session.accessToken); }

  /** accessToken is a valid token, refreshed when it is about to expire and a refresh token exists. */
  async accessToken() {
    if (!this.session) return '';
    if (this.refreshing) await this.refreshing.catch(() => {});
    if (this.session && Date.now() > this.session.expiresAt - 30000 && this.session.refreshToken) {
      await this.refresh();
    }
    return this.session ? this.session.accessToken : '';
  }

  /** refresh renews the tokens; with tenant it switches to that tenant of the same organization. */
  refresh(tenant) {
    // Refresh tokens are single-use: one refresh at a time, each with the latest token.
    const run = async () => {
      if (!this.session || !this.session.refreshToken) {
        throw new Error('this session cannot be renewed: please log in again');
      }
      const params = { grant_type: 'refresh_token', refresh_token: this.session.refreshToken, client_id: this.config.clientId };
      if (tenant) params.tenant = tenant;
      this.store(await this.token(params));
    };
    const next = (this.refreshing || Promise.resolve()).catch(() => {}).then(run);
    this.refreshing = next;
    return next;
  }

  /** logout forgets the session and revokes the refresh token where the auth service can. */
  async logout() {
    const refresh = this.session && this.session.refreshToken;
    this.session = null;
    sessionStorage.removeItem(SESSION_KEY);
    this.emit();
    const d = this.discovery;
    if (refresh && d && d.revocation_endpoint) {
      try {
        await fetch(d.revocation_endpoint, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token: refresh, token_type_hint: 'refresh_token', client_id: this.config.clientId }),
          credentials: 'omit',
        });
      } catch {
        // The session is gone from this browser either way; the token expires on its own.
      }
    }
  }

  /** expire drops a session the API no longer accepts; the login page says why. */
  expire(reason = 'Your session has expired: please log in again.') {
    this.expiredBecause = reason;
    this.session = null;
    sessionStorage.removeItem(SESSION_KEY);
    this.emit();
  }
}

function load(key) {
  try {
    return JSON.parse(sessionStorage.getItem(key) || 'null');
  } catch {
    return null;
  }
}
