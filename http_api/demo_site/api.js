// The HTTP API: JSON envelopes, the signed-in session and one token refresh at a time.
//
// Tokens live in memory (and in the server's HttpOnly cookies): a reload restores the
// session from the cookies. Refresh tokens rotate on every use and a reused one revokes the
// whole login, so the page and the socket client share this one refresh function.

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export const session = { user: null, accessToken: null };
// Set while signed in, so that an anonymous visit does not probe the session (two requests
// counted against the /api/auth rate limit) before showing the sign-in form.
const SIGNED_IN = "pitchey.signedIn";
let refreshing = null;

/** A fresh access token (single flight), or throws ApiError when the session is over. */
export function refresh() {
  if (!refreshing) {
    refreshing = call("POST", "/api/auth/refresh", {}, { retry: false })
      .then(({ data }) => {
        session.accessToken = data.accessToken;
        session.user = data.user;
        return data.accessToken;
      })
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

/** Call the API; a 401 for an expired or missing token is refreshed once and retried. */
export async function call(method, path, body, { retry = true } = {}) {
  const headers = { Accept: "application/json" };
  if (session.accessToken) headers.Authorization = `Bearer ${session.accessToken}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, credentials: "same-origin", cache: "no-store",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const payload = await response.json().catch(() => ({}));
  if (response.ok) return payload;
  const error = payload.error || {};
  if (response.status === 401 && retry && (!path.startsWith("/api/auth/") || path === "/api/auth/session")) {
    await refresh();
    return call(method, path, body, { retry: false });
  }
  throw new ApiError(response.status, error.code || "http_error",
                     error.message || `HTTP ${response.status}`, error.details);
}

export const get = (path) => call("GET", path);
export const post = (path, body = {}) => call("POST", path, body);

export async function login(portal, email, password) {
  const { data } = await call("POST", `/api/auth/${portal}/login`, { email, password }, { retry: false });
  session.user = data.user;
  session.accessToken = data.accessToken;
  localStorage.setItem(SIGNED_IN, "1");
  return data.user;
}

/** Restore the session from the cookies; false when signed out. */
export async function restore() {
  if (!localStorage.getItem(SIGNED_IN)) return false;
  try {
    const { data } = await call("GET", "/api/auth/session");
    session.user = data.user;
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      localStorage.removeItem(SIGNED_IN);
      return false;
    }
    throw error;
  }
}

export async function logout() {
  await call("POST", "/api/auth/logout", {}, { retry: false }).catch(() => {});
  session.user = null;
  session.accessToken = null;
  localStorage.removeItem(SIGNED_IN);
}
