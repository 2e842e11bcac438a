// api.js: the status page's only contact with the server.
//
// Talks to social-post's HTTP API on the page's own origin (/social-post and
// /social-post-status, see the README's API section) with the user's Supabase
// access token, which lives in this tab's sessionStorage and nowhere else.
// The one idea: a job is watched through the status long-poll (wait=25 with
// If-None-Match: the last ETag; 304 means unchanged), and every failure of the
// network or a 5xx is met with exponential backoff, so a dropped connection
// only ever delays updates. An answer that tells nothing new and came back at
// once (something between the page and the API does not wait, or ignores
// If-None-Match) is met with the same backoff: the page never asks in a loop. Nothing here touches the page's DOM.

const TOKEN_KEY = "social-post.access-token";
const WAIT_SECONDS = 25; // server-side wait of one long-poll
const CLIENT_TIMEOUT_MS = (WAIT_SECONDS + 20) * 1000; // a hung connection counts as dropped
const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 30000;
const QUICK_MS = 1000; // a long-poll answered sooner than this did not wait

// The API's base path: "" (same origin, paths from the root) unless the page's
// <html data-api-base="..."> says otherwise.
const apiBase = (document.documentElement.dataset.apiBase || "").replace(/\/+$/, "");

/** An answer of the API that is not a success: status, stable code, message. */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }

  /** True for errors that go away by themselves (network, 5xx, 429). */
  get transient() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

// ------------------------------------------------------------------ token

/** The access token of this tab, or null. */
export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** Keeps token for this tab only (sessionStorage); never localStorage. */
export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled: nothing stored either */
  }
}

/** What a user pasted, as a bare token: trimmed, without a "Bearer " prefix. */
export function normalizeToken(text) {
  return text.trim().replace(/^bearer\s+/i, "").trim();
}

// ------------------------------------------------------------------ requests

/** Reads the error body {"error","code"} of a failed answer into an ApiError. */
async function errorOf(res) {
  let code = "http_" + res.status;
  let message = `The server answered ${res.status} ${res.statusText || ""}`.trim();
  try {
    const body = await res.json();
    if (body && typeof body.error === "string") message = body.error;
    if (body && typeof body.code === "string") code = body.code;
  } catch {
    /* not JSON (a proxy's page): keep the status line */
  }
  const retry = Number.parseInt(res.headers.get("Retry-After") || "", 10);
  return new ApiError(res.status, code, message, Number.isFinite(retry) ? retry : undefined);
}

/**
 * One API request with the token. Resolves to the Response for 2xx and 304,
 * throws ApiError otherwise (status 0 for a network failure or an abort by
 * the caller's signal, which is rethrown as it is).
 */
async function request(method, path, { body, headers = {}, signal, credentials = "omit" } = {}) {
  const token = getToken();
  const h = { ...headers };
  if (token) h.Authorization = "Bearer " + token;
  if (body !== undefined) h["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(apiBase + path, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials,
      signal,
    });
  } catch (e) {
    if (e && e.name === "AbortError") throw e;
    throw new ApiError(0, "network_error", "The server could not be reached.");
  }
  if (res.ok || res.status === 304) return res;
  throw await errorOf(res);
}

/** 16 random bytes as hex: an Idempotency-Key (no secure context needed). */
export function randomKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** POST /social-post: {jobId, status, message}. */
export async function submitPost(post, idempotencyKey) {
  const res = await request("POST", "/social-post", {
    body: post,
    headers: idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {},
  });
  return res.json();
}

/** GET /social-post-accounts: {accounts: [...], choices: [...]}. */
export async function listAccounts() {
  const res = await request("GET", "/social-post-accounts");
  return res.json();
}

/**
 * POST /social-post-accounts/{platform}/connect: {authorizeUrl}. The answer
 * sets the cookie that binds the connection to this browser, so this one
 * request carries credentials (same origin only).
 */
export async function connectAccount(platform) {
  const res = await request("POST", `/social-post-accounts/${encodeURIComponent(platform)}/connect`,
    { credentials: "same-origin" });
  return res.json();
}

/** POST /social-post-accounts/{platform}/choose {accountId}. */
export async function chooseAccount(platform, accountId) {
  const res = await request("POST", `/social-post-accounts/${encodeURIComponent(platform)}/choose`,
    { body: { accountId } });
  return res.json();
}

/** DELETE /social-post-accounts/{platform}: {disconnected, revoked}. */
export async function disconnectAccount(platform) {
  const res = await request("DELETE", `/social-post-accounts/${encodeURIComponent(platform)}`);
  return res.json();
}

/** POST /social-post/{id}/retry: {jobId, status, retried, message}. */
export async function retryJob(jobId) {
  const res = await request("POST", `/social-post/${encodeURIComponent(jobId)}/retry`);
  return res.json();
}

/** POST /social-post/{id}/cancel: {jobId, status, cancelled}. */
export async function cancelJob(jobId) {
  const res = await request("POST", `/social-post/${encodeURIComponent(jobId)}/cancel`);
  return res.json();
}

/** GET /social-post-status (the caller's jobs): {jobs, next}. */
export async function listJobs({ limit = 20, before } = {}) {
  const q = new URLSearchParams({ limit: String(limit) });
  if (before) q.set("before", before);
  const res = await request("GET", "/social-post-status?" + q);
  return res.json();
}

/** True when a job will not change any more by itself. */
export function isFinal(job) {
  return job.status === "completed" || job.status === "failed";
}

// ------------------------------------------------------------------ watching

/** Resolves after ms, or at once when wake() is called or signal aborts. */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      window.removeEventListener("online", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    window.addEventListener("online", done); // the network is back: try now
    signal.addEventListener("abort", done);
  });
}

/**
 * Watches one job until it is final or stop() is called.
 *
 * handlers.update(job)          a new version of the job's status body
 * handlers.connection(state, info)
 *       "live"                  a long-poll is open (or just answered)
 *       "reconnecting"          the last request failed; info = {attempt, delayMs, error}
 *       "done"                  the job is final; no more requests
 * handlers.fatal(apiError)      a non-transient error (401, 404, ...): stopped
 */
export class JobWatcher {
  constructor(jobId, handlers) {
    this.jobId = jobId;
    this.handlers = handlers;
    this.etag = null;
    this.failures = 0;
    this.idle = 0; // answers in a row that told nothing new at once
    this.unexpected = false; // the last answer was one of them
    this.stopped = false;
    this.life = new AbortController(); // aborted by stop()
    this.current = null; // the AbortController of the request in flight
    this.onOffline = () => this.current && this.current.abort();
    window.addEventListener("offline", this.onOffline);
    queueMicrotask(() => this.run()); // after the caller has kept a reference
  }

  stop() {
    if (this.stopped) return;
    this.stopped = true;
    window.removeEventListener("offline", this.onOffline);
    this.life.abort();
    if (this.current) this.current.abort();
  }

  // One status request: the first reads the job as it is, the next ones wait
  // for a change from the version we hold; after a failure one quick request
  // (no wait) tells at once whether the connection is back.
  async poll() {
    const q = new URLSearchParams({ jobId: this.jobId });
    const headers = {};
    if (this.etag) {
      if (this.failures === 0) q.set("wait", String(WAIT_SECONDS));
      headers["If-None-Match"] = this.etag;
    }
    this.current = new AbortController();
    const timer = setTimeout(() => this.current.abort(), CLIENT_TIMEOUT_MS);
    const asked = this.etag;
    const started = Date.now();
    try {
      const res = await request("GET", "/social-post-status?" + q, {
        headers,
        signal: this.current.signal,
      });
      const quick = q.has("wait") && Date.now() - started < QUICK_MS;
      if (res.status !== 200) { // 304, or a success this page does not know
        this.unexpected = res.status !== 304 || quick;
        return null;
      }
      const etag = res.headers.get("ETag");
      const job = await res.json();
      this.unexpected = !etag || etag === asked; // no version to wait on, or no news
      this.etag = etag || null;
      return job;
    } catch (e) {
      if (e && e.name === "AbortError") {
        throw new ApiError(0, "network_error", navigator.onLine === false
          ? "The browser is offline." : "The connection was interrupted.");
      }
      throw e;
    } finally {
      clearTimeout(timer);
      this.current = null;
    }
  }

  async run() {
    while (!this.stopped) {
      if (this.failures === 0) this.handlers.connection("live");
      let job;
      try {
        job = await this.poll();
      } catch (e) {
        if (this.stopped) return;
        if (!(e instanceof ApiError) || !e.transient) {
          this.stop();
          this.handlers.fatal(e instanceof ApiError ? e
            : new ApiError(0, "client_error", String(e)));
          return;
        }
        await this.backoff(e);
        continue;
      }
      if (this.stopped) return;
      if (this.failures > 0) {
        this.failures = 0;
        this.handlers.connection("live");
      }
      if (job) {
        this.handlers.update(job);
        if (isFinal(job)) {
          this.stop();
          this.handlers.connection("done");
          return;
        }
      }
      if (this.unexpected) await this.pause();
      else this.idle = 0;
    }
  }

  // After an answer that told nothing new at once: waits as backoff() does
  // (1 s, 2 s, 4 s ... at most 30 s), without calling the connection lost.
  async pause() {
    this.idle += 1;
    const exp = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (this.idle - 1));
    await sleep(Math.round(exp * (0.8 + Math.random() * 0.4)), this.life.signal);
  }

  // Waits before the next try: 1 s, 2 s, 4 s ... at most 30 s, with jitter,
  // or what Retry-After asks; a returning network ends the wait early.
  async backoff(error) {
    this.failures += 1;
    const exp = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (this.failures - 1));
    let delayMs = Math.round(exp * (0.8 + Math.random() * 0.4));
    if (error.retryAfter !== undefined) delayMs = Math.max(delayMs, error.retryAfter * 1000);
    this.handlers.connection("reconnecting", { attempt: this.failures, delayMs, error });
    await sleep(delayMs, this.life.signal);
  }
}
