// The REST API client: bearer token, JSON errors as ApiError with the API's code and details.

/** ApiError is an error answer of the API: {error: {code, message, details}}. */
export class ApiError extends Error {
  constructor(status, code, message, details = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Api calls the REST API on behalf of the logged-in person. */
export class Api {
  constructor(baseURL, auth) {
    this.base = baseURL || location.origin;
    this.auth = auth;
  }

  async request(method, path, body, accept = 'application/json') {
    const headers = { Accept: accept };
    const token = await this.auth.accessToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(this.base + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit', cache: 'no-store',
      });
    } catch (e) {
      throw new ApiError(0, 'unreachable', `cannot reach the API (${e.message})`);
    }
    if (res.status === 401) {
      this.auth.expire();
      throw new ApiError(401, 'unauthenticated', 'your session has expired: please log in again');
    }
    if (!res.ok) {
      const text = await res.text();
      let err = {};
      try { err = JSON.parse(text).error || {}; } catch { err = { message: text.trim() }; }
      throw new ApiError(res.status, err.code || String(res.status), err.message || `${method} ${path} answered ${res.status}`, err.details || []);
    }
    if (res.status === 204) return null;
    const ct = res.headers.get('Content-Type') || '';
    return ct.includes('json') ? res.json() : res.text();
  }

  get(path) { return this.request('GET', path); }
  post(path, body = {}) { return this.request('POST', path, body); }
  del(path) { return this.request('DELETE', path); }
  text(path) { return this.request('GET', path, undefined, 'application/yaml, text/plain, */*'); }
}

/** items is the list of an answer that is either an array or {items: [...]}. */
export function items(answer) {
  if (Array.isArray(answer)) return answer;
  return (answer && answer.items) || [];
}

/** enc escapes a path segment. */
export const enc = encodeURIComponent;
