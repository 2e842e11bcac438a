// app.js: the status page's behaviour: sign in, post, watch a job, list jobs.
// Each chosen platform shows its "options" area; an API refusal that names
// an option (options.<platform>.<key>) is shown next to that field.
//
// State is small and lives here: the token (in sessionStorage, via api.js),
// the job on show and its watcher, the recent jobs. The page is two views,
// "signin" and "app"; the job on show is in the URL (#job=<id>) so a reload
// keeps it. Changes people should hear go to one polite live region; focus
// moves only when the user acted (signed in, posted, opened a job, retried).

import * as accounts from "./accounts.js";
import * as api from "./api.js";
import * as ui from "./render.js";

const $ = (id) => document.getElementById(id);

const view = {
  signin: $("signin"), signinForm: $("signin-form"), token: $("token"),
  signinError: $("signin-error"), app: $("app"), session: $("session"),
  signOut: $("sign-out"), announcer: $("announcer"),
  postForm: $("post-form"), videoId: $("video-id"), title: $("title"),
  description: $("description"), scheduledAt: $("scheduled-at"),
  postError: $("post-error"), postButton: $("post-button"),
  platformOptions: $("platform-options"),
  job: $("job"), jobHeading: $("job-heading"), jobTitle: $("job-title"),
  jobBadge: $("job-badge"), jobHeadline: $("job-headline"),
  jobMeta: $("job-meta"), jobPlatforms: $("job-platforms"),
  jobDescription: $("job-description"), jobActionError: $("job-action-error"),
  connection: $("connection"), retry: $("retry"), cancel: $("cancel"),
  closeJob: $("close-job"),
  list: $("job-list"), listStatus: $("list-status"), listError: $("list-error"),
  refresh: $("refresh"),
  loadMore: $("load-more"),
};

const state = {
  job: null, // the status body on show
  watcher: null,
  connection: null,
  jobs: [], // recent jobs, newest first
  next: null,
  lastAttempt: null, // {body, key} of a submit that never got an answer
};

// ------------------------------------------------------------------ helpers

/** Says text through the live region (once, even when it repeats). */
function announce(text) {
  view.announcer.textContent = "";
  // a separate task, so that the same text twice is announced twice
  setTimeout(() => { view.announcer.textContent = text; }, 50);
}

function showError(node, error) {
  if (!error) {
    node.hidden = true;
    node.textContent = "";
    return;
  }
  const message = error instanceof api.ApiError
    ? `${error.message} (${error.code})` : String(error.message || error);
  node.textContent = message;
  node.hidden = false;
}

/** An API error that means the token is no good: back to sign-in. */
function isAuthError(e) {
  return e instanceof api.ApiError && e.status === 401;
}

function signedOutBecause(e) {
  signOut();
  showError(view.signinError, new api.ApiError(401, e.code,
    `The access token was refused: ${e.message} Sign in again.`));
  view.token.focus();
}

function jobIdFromHash() {
  const m = /^#job=([0-9a-fA-F-]{36})$/.exec(location.hash);
  return m ? m[1].toLowerCase() : null;
}

// ------------------------------------------------------------------ views

function showSignin() {
  view.app.hidden = true;
  view.session.hidden = true;
  view.signin.hidden = false;
}

function showApp() {
  view.signin.hidden = true;
  view.app.hidden = false;
  view.session.hidden = false;
}

function signOut() {
  closeJob({ keepHash: false });
  api.clearToken();
  state.jobs = [];
  state.next = null;
  view.list.replaceChildren();
  view.token.value = "";
  showSignin();
}

async function signIn(event) {
  event.preventDefault();
  const token = api.normalizeToken(view.token.value);
  if (!token) {
    showError(view.signinError, new Error("Paste an access token first."));
    view.token.focus();
    return;
  }
  try {
    api.setToken(token);
  } catch {
    showError(view.signinError, new Error("This browser does not let the page keep the " +
      "token for this tab (sessionStorage is blocked)."));
    return;
  }
  view.token.value = "";
  showError(view.signinError, null);
  const ok = await loadJobs();
  if (!ok) return;
  showApp();
  accounts.load();
  announce("Signed in.");
  view.videoId.focus();
  const id = jobIdFromHash();
  if (id) openJob(id, { focus: false });
}

// ------------------------------------------------------------------ the job list

function renderList() {
  view.list.replaceChildren(...state.jobs.map((job) =>
    ui.jobListItem(job, (j) => openJob(j.jobId, { focus: true, job: j }),
      state.job && state.job.jobId === job.jobId)));
  view.loadMore.hidden = !state.next;
  view.listStatus.textContent = state.jobs.length ? "" : "No jobs yet.";
}

/** Loads the first page (or the next one); false when the token was refused. */
async function loadJobs({ more = false } = {}) {
  view.listStatus.textContent = "Loading…";
  view.refresh.disabled = true;
  try {
    const page = await api.listJobs({ before: more ? state.next : undefined });
    state.jobs = more ? state.jobs.concat(page.jobs || []) : (page.jobs || []);
    state.next = page.next || null;
    showError(view.listError, null);
    renderList();
    return true;
  } catch (e) {
    if (isAuthError(e)) {
      signedOutBecause(e);
      return false;
    }
    view.listStatus.textContent = "";
    showError(view.listError, e);
    return !(e instanceof api.ApiError) || e.transient;
  } finally {
    view.refresh.disabled = false;
  }
}

/** Puts a newer body of job into the list, if it is there. */
function updateListEntry(job) {
  const i = state.jobs.findIndex((j) => j.jobId === job.jobId);
  if (i >= 0) {
    state.jobs[i] = job;
    renderList();
  }
}

// ------------------------------------------------------------------ the job on show

function renderJob(job) {
  const before = state.job && state.job.jobId === job.jobId ? state.job : null;
  state.job = job;
  view.jobTitle.textContent = job.title ? String(job.title) : "(untitled)";
  view.jobDescription.textContent = job.description ? String(job.description) : "";
  view.jobDescription.hidden = !job.description;
  view.jobBadge.textContent = ui.statusWord(job);
  view.jobBadge.className = `badge status-${job.status}`;
  view.jobHeadline.textContent = ui.headline(job);
  view.jobMeta.replaceChildren(ui.jobTimes(job));
  renderPlatforms(job);
  view.retry.hidden = !ui.canRetry(job);
  view.cancel.hidden = !ui.canCancel(job);
  view.job.dataset.status = job.status;
  if (before) announceChanges(before, job);
}

// Redraws a platform only when its result changed, so a focused link stays.
function renderPlatforms(job) {
  const items = new Map(
    [...view.jobPlatforms.children].map((li) => [li.dataset.platform, li]));
  const wanted = job.platforms || [];
  for (const [platform, li] of items) {
    if (!wanted.includes(platform)) li.remove();
  }
  wanted.forEach((platform, index) => {
    const key = ui.platformKey(job, platform);
    let li = items.get(platform);
    if (!li || li.dataset.key !== key) {
      const fresh = ui.platformItem(job, platform);
      fresh.dataset.key = key;
      if (li) li.replaceWith(fresh);
      li = fresh;
    }
    if (view.jobPlatforms.children[index] !== li) {
      view.jobPlatforms.insertBefore(li, view.jobPlatforms.children[index] || null);
    }
  });
}

function announceChanges(before, job) {
  const lines = [];
  if (before.status !== job.status) lines.push(`${ui.statusWord(job)}: ${ui.headline(job)}`);
  for (const p of job.platforms || []) {
    const a = ui.resultOf(before, p);
    const b = ui.resultOf(job, p);
    if (a.state !== b.state && before.status === job.status) {
      lines.push(`${ui.platformName(p)}: ${ui.stateWords(b).text}.`);
    }
  }
  if (lines.length) announce(lines.join(" "));
}

function setConnection(kind, info) {
  const was = state.connection;
  state.connection = kind;
  view.connection.className = `connection ${kind}`;
  if (kind === "live") {
    view.connection.textContent = was === "reconnecting" ? "Reconnected. Live updates." : "Live updates.";
    if (was === "reconnecting") announce("Reconnected.");
  } else if (kind === "reconnecting") {
    const seconds = Math.max(1, Math.round(info.delayMs / 1000));
    view.connection.textContent =
      `Connection lost: ${info.error.message} Reconnecting (next try in ${seconds} s)…`;
    if (was !== "reconnecting") announce("Connection lost. Reconnecting…");
  } else if (kind === "done") {
    view.connection.textContent = "";
  }
  view.connection.hidden = !view.connection.textContent;
}

function watch(jobId) {
  if (state.watcher) state.watcher.stop();
  state.connection = null;
  const watcher = new api.JobWatcher(jobId, {
    update: (job) => {
      if (state.watcher !== watcher) return;
      renderJob(job);
      updateListEntry(job);
    },
    connection: (kind, info) => {
      if (state.watcher !== watcher) return;
      if (kind !== state.connection || kind === "reconnecting") setConnection(kind, info);
    },
    fatal: (e) => {
      if (state.watcher !== watcher) return;
      if (isAuthError(e)) {
        signedOutBecause(e);
        return;
      }
      setConnection("done");
      if (e.status === 404 && !state.job) view.jobTitle.textContent = "Job not found";
      showError(view.jobActionError, e);
    },
  });
  state.watcher = watcher;
}

/** Shows a job and follows it live. job, when given, is drawn at once. */
function openJob(jobId, { focus = false, job = null } = {}) {
  const same = state.job && state.job.jobId === jobId;
  if (!same) {
    state.job = null;
    view.jobPlatforms.replaceChildren();
    view.jobTitle.textContent = "Loading…";
    view.jobBadge.textContent = "";
    view.jobBadge.className = "badge";
    view.jobHeadline.textContent = "";
    view.jobDescription.hidden = true;
    view.jobMeta.replaceChildren();
    view.retry.hidden = true;
    view.cancel.hidden = true;
  }
  showError(view.jobActionError, null);
  if (job) renderJob(job);
  view.job.hidden = false;
  history.replaceState(null, "", "#job=" + jobId);
  renderList();
  watch(jobId);
  if (focus) view.jobHeading.focus();
}

function closeJob({ keepHash = false } = {}) {
  if (state.watcher) state.watcher.stop();
  state.watcher = null;
  state.job = null;
  view.job.hidden = true;
  view.jobPlatforms.replaceChildren();
  if (!keepHash) history.replaceState(null, "", location.pathname + location.search);
}

// ------------------------------------------------------------------ actions

// ------------------------------------------------------------------ options

/** Shows the options area of each chosen platform, hides the others. */
function showChosenOptions() {
  for (const box of view.postForm.querySelectorAll("input[name=platform]")) {
    $(ui.optionId(box.value)).hidden = !box.checked;
  }
}

/** The options of the chosen platforms, as the API takes them; null when none. */
function formOptions(platforms) {
  const options = {};
  for (const platform of platforms) {
    const opts = {};
    for (const field of ui.OPTION_FIELDS[platform] || []) {
      const value = ui.optionValue(field, $(ui.optionId(platform, field.key)).value);
      if (value !== undefined) opts[field.key] = value;
    }
    // TikTok's options go even when empty: the API then names the missing privacy level
    if (Object.keys(opts).length || platform === "tiktok") options[platform] = opts;
  }
  return Object.keys(options).length ? options : null;
}

/** Clears the messages shown next to options. */
function clearOptionErrors() {
  for (const node of view.platformOptions.querySelectorAll(".option-error")) {
    node.hidden = true;
    node.textContent = "";
  }
  for (const node of view.platformOptions.querySelectorAll("[aria-invalid]")) {
    node.removeAttribute("aria-invalid");
  }
}

/** Puts the API's message next to the option it names; the field it went to, or null. */
function showOptionError(e) {
  const at = e instanceof api.ApiError && e.status === 400 ? ui.optionPath(e.message) : null;
  if (!at || !$(ui.optionId(at.platform))) return null;
  const id = ui.optionId(at.platform, at.key && $(ui.optionId(at.platform, at.key)) ? at.key : null);
  const error = $(id + "-error");
  error.textContent = e.message;
  error.hidden = false;
  const field = $(id);
  field.setAttribute("aria-invalid", "true");
  return field;
}

function formBody() {
  const platforms = [...view.postForm.querySelectorAll("input[name=platform]:checked")]
    .map((box) => box.value);
  const body = { videoId: view.videoId.value.trim(), platforms };
  const options = formOptions(platforms);
  if (options) body.options = options;
  const title = view.title.value.trim();
  const description = view.description.value.trim();
  if (title) body.title = title;
  if (description) body.description = description;
  if (view.scheduledAt.value) {
    const when = new Date(view.scheduledAt.value); // datetime-local: local time
    if (!Number.isNaN(when.getTime())) body.scheduledAt = when.toISOString();
  }
  return body;
}

async function submitPost(event) {
  event.preventDefault();
  showError(view.postError, null);
  clearOptionErrors();
  const body = formBody();
  if (!body.videoId) {
    showError(view.postError, new Error("Enter the ID of the video to post."));
    view.videoId.focus();
    return;
  }
  if (!body.platforms.length) {
    showError(view.postError, new Error("Choose at least one platform."));
    view.postForm.querySelector("input[name=platform]").focus();
    return;
  }
  // the same post again after a lost answer reuses its key: no second job
  const text = JSON.stringify(body);
  const key = state.lastAttempt && state.lastAttempt.body === text
    ? state.lastAttempt.key : api.randomKey();
  state.lastAttempt = { body: text, key };
  view.postButton.disabled = true;
  view.postButton.textContent = "Posting…";
  try {
    const answer = await api.submitPost(body, key);
    state.lastAttempt = null;
    announce(`Post job created for ${ui.platformList(body.platforms)}.`);
    openJob(answer.jobId, { focus: true });
    loadJobs();
  } catch (e) {
    if (isAuthError(e)) {
      signedOutBecause(e);
      return;
    }
    if (!(e instanceof api.ApiError) || !e.transient) state.lastAttempt = null;
    showError(view.postError, e);
    const field = showOptionError(e);
    if (field && field.tagName !== "FIELDSET") field.focus();
  } finally {
    view.postButton.disabled = false;
    view.postButton.textContent = "Post";
  }
}

/** Retry or Cancel: runs action, then follows the job again. */
async function jobAction(button, action, said) {
  if (!state.job) return;
  const jobId = state.job.jobId;
  showError(view.jobActionError, null);
  button.disabled = true;
  try {
    const answer = await action(jobId);
    const names = ui.platformList(answer.retried || answer.cancelled);
    announce(`${said} ${names}.`);
    view.jobHeading.focus(); // the button goes away with the state it served
    watch(jobId);
  } catch (e) {
    if (isAuthError(e)) {
      signedOutBecause(e);
      return;
    }
    showError(view.jobActionError, e);
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ start

function start() {
  view.platformOptions.replaceChildren(...ui.PLATFORMS.map((p) => ui.optionsFieldset(p.id)));
  for (const box of view.postForm.querySelectorAll("input[name=platform]")) {
    box.addEventListener("change", showChosenOptions);
  }
  showChosenOptions();
  view.signinForm.addEventListener("submit", signIn);
  view.signOut.addEventListener("click", () => {
    signOut();
    announce("Signed out.");
    view.token.focus();
  });
  view.postForm.addEventListener("submit", submitPost);
  view.retry.addEventListener("click", () => jobAction(view.retry, api.retryJob, "Retrying"));
  view.cancel.addEventListener("click", () => jobAction(view.cancel, api.cancelJob, "Cancelled"));
  view.closeJob.addEventListener("click", () => {
    closeJob();
    renderList();
    view.videoId.focus();
  });
  view.refresh.addEventListener("click", () => loadJobs());
  view.loadMore.addEventListener("click", () => loadJobs({ more: true }));
  window.addEventListener("hashchange", () => {
    const id = jobIdFromHash();
    if (id && api.getToken() && (!state.job || state.job.jobId !== id)) openJob(id);
  });
  accounts.start({ announce, showError, onAuthError: signedOutBecause });
  document.documentElement.classList.add("js");

  if (!api.getToken()) {
    showSignin();
    return;
  }
  showApp();
  loadJobs();
  accounts.load();
  const id = jobIdFromHash();
  if (id) openJob(id);
}

start();
