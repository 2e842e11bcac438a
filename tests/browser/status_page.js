"use strict";
// status_page.js: the status page (web/) in a real headless Chromium, as a
// person uses it: sign in, post, watch, retry, cancel, lose the network.
//
//     node status_page.js <scenario>
//
// tests/e2e/test_status_page.py runs one scenario per test, against the
// stack's nginx, with users, videos, platform fakes and a worker it set up;
// the fixture arrives as JSON in $SP_UI_FIXTURE (baseUrl, pageUrl, token,
// videoId, screenshotDir, ...). Exit 0: the scenario held. Every scenario
// also fails on an uncaught page error, an opened dialog (an injected
// script's alert) or a Content-Security-Policy violation.
// Progress bars: checked whenever a status body carries `progress` for a
// running platform; the fixture's expectProgress (test_status_page.py's
// REQUIRE_PROGRESS, or SP_UI_EXPECT_PROGRESS=1) requires them in the upload
// scenario, for when the worker reports progress.

const assert = require("node:assert/strict");
const path = require("node:path");
const { chromium } = require(process.env.SP_PLAYWRIGHT || "playwright-core");

const fx = JSON.parse(process.env.SP_UI_FIXTURE || "{}");
const STRICT_PROGRESS = fx.expectProgress === true || process.env.SP_UI_EXPECT_PROGRESS === "1";
const JOB_TIMEOUT_MS = 120000; // generous: a slow machine is slow, not wrong
const PLATFORM_NAMES = { youtube: "YouTube", facebook: "Facebook", instagram: "Instagram",
  tiktok: "TikTok" };

// ------------------------------------------------------------------ browser

async function launch() {
  const args = ["--disable-dev-shm-usage"];
  if (process.getuid && process.getuid() === 0) args.push("--no-sandbox"); // CI runs as root
  return chromium.launch({ executablePath: process.env.SP_CHROMIUM || "/usr/bin/chromium",
    headless: true, args });
}

// Records in the page, from before its scripts run, what a poll could miss:
// every progress bar drawn and every status badge shown.
function recorder() {
  window.__seen = { progress: [], badges: [] };
  const look = () => {
    for (const p of document.querySelectorAll("progress")) {
      window.__seen.progress.push({ label: p.getAttribute("aria-label"), value: p.value,
        text: p.parentElement ? p.parentElement.textContent : "" });
    }
    const badge = document.getElementById("job-badge");
    const text = badge ? badge.textContent : "";
    const list = window.__seen.badges;
    if (text && list[list.length - 1] !== text) list.push(text);
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true,
    characterData: true, attributes: true });
}

/** A new tab (own context: own sessionStorage) on the page, with watchers. */
async function openPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 },
    timezoneId: "UTC", locale: "en-GB", ...options });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("dialog", (d) => {
    problems.push("a dialog opened: " + d.message());
    d.dismiss().catch(() => {});
  });
  page.on("console", (m) => {
    if (/Content.Security.Policy/i.test(m.text())) problems.push("CSP: " + m.text());
  });
  await page.addInitScript(recorder);
  await page.goto(fx.pageUrl);
  return { context, page, problems };
}

/** Status bodies (200) and requests of the job long-poll, as the page saw them. */
function watchStatus(page) {
  const seen = { bodies: [], requests: [] };
  const isJobStatus = (url) => new URL(url).pathname === "/social-post-status" &&
    new URL(url).searchParams.has("jobId");
  page.on("request", (r) => {
    if (isJobStatus(r.url())) seen.requests.push({ url: r.url(), headers: r.headers() });
  });
  page.on("response", async (r) => {
    if (!isJobStatus(r.url()) || r.status() !== 200) return;
    try {
      seen.bodies.push(await r.json());
    } catch {
      /* the page went away */
    }
  });
  return seen;
}

/** Polls check() until it returns true (anything else: not yet, and shown
 * in the failure); fails naming what after timeoutMs. */
async function waitFor(what, check, timeoutMs = 15000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last === true) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function screenshot(page, name) {
  const file = path.join(fx.screenshotDir, name);
  await page.screenshot({ path: file, fullPage: true });
  console.log("screenshot: " + file);
}

// ------------------------------------------------------------------ the page

async function signIn(page, token = fx.token) {
  await page.getByLabel("Access token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByLabel("Video ID").waitFor();
}

async function fillPost(page, { videoId = fx.videoId, platforms, title, description, publishAt }) {
  await page.getByLabel("Video ID").fill(videoId);
  for (const name of Object.values(PLATFORM_NAMES)) {
    await page.getByRole("checkbox", { name, exact: true }).setChecked(platforms.includes(name));
  }
  await page.getByLabel("Title", { exact: true }).fill(title || "");
  await page.getByLabel("Description", { exact: true }).fill(description || "");
  await page.getByLabel("Publish at").fill(publishAt || "");
}

/** Fills the form, clicks Post, returns the new job's id (from the page's URL). */
async function post(page, fields) {
  await fillPost(page, fields);
  const answer = page.waitForResponse((r) => r.request().method() === "POST" &&
    new URL(r.url()).pathname === "/social-post");
  await page.getByRole("button", { name: "Post", exact: true }).click();
  const res = await answer;
  assert.equal(res.status(), 202, `submit answered ${res.status()}: ${await res.text()}`);
  const { jobId } = await res.json();
  await waitFor("the new job on show", async () => (await page.evaluate(() => location.hash)) ===
    "#job=" + jobId);
  return jobId;
}

const badge = (page) => page.locator("#job-badge");
const platformItem = (page, id) => page.locator(`#job-platforms li[data-platform="${id}"]`);

async function waitForBadge(page, text, timeoutMs = JOB_TIMEOUT_MS) {
  await waitFor(`the job's status "${text}"`, async () =>
    (await badge(page).textContent()) === text ? true : `"${await badge(page).textContent()}"`,
  timeoutMs);
}

async function activeId(page) {
  return page.evaluate(() => document.activeElement && document.activeElement.id);
}

/** The job as the API has it, read with the test's own request. */
async function apiStatus(jobId, token = fx.token) {
  const res = await fetch(`${fx.baseUrl}/social-post-status?jobId=${jobId}`,
    { headers: { Authorization: "Bearer " + token } });
  assert.equal(res.status, 200);
  return res.json();
}

/** "YYYY-MM-DDTHH:MM" in UTC (the contexts' time zone) minutes from now. */
function localInput(minutesAhead) {
  const d = new Date(Date.now() + minutesAhead * 60000);
  return d.toISOString().slice(0, 16);
}

/** Each platform of a finished job shows a link to its post, as the API says. */
async function assertLinks(page, job, platforms) {
  for (const p of platforms) {
    const link = platformItem(page, p).getByRole("link", { name: `View on ${PLATFORM_NAMES[p]}` });
    assert.equal(await link.count(), 1, `${p}: one link`);
    assert.equal(await link.getAttribute("href"), job.results[p].url, `${p}: link target`);
    assert.match(await platformItem(page, p).textContent(), /✓\s*Posted/);
  }
}

// ------------------------------------------------------------------ scenarios

const scenarios = {};

// Three platforms, uploads slowed down by the fakes: Queued/Posting with
// ⏳ and ✓ per platform, progress bars when the results carry progress,
// then Completed with a link per platform, in the detail and the list.
scenarios.upload_to_three_platforms = async (browser) => {
  const t = await openPage(browser);
  const status = watchStatus(t.page);
  await signIn(t.page);
  const jobId = await post(t.page, { platforms: ["YouTube", "Facebook", "Instagram"],
    title: fx.title, description: "One video, three platforms." });
  assert.equal(await activeId(t.page), "job-heading", "focus moves to the new job");
  let midShot = false;
  await waitFor("the job to complete", async () => {
    const text = await badge(t.page).textContent();
    if (!midShot && text === "Posting") {
      midShot = true;
      await screenshot(t.page, "status-page-posting.png");
    }
    return text === "Completed";
  }, JOB_TIMEOUT_MS);
  const job = await apiStatus(jobId);
  assert.equal(job.status, "completed");
  await assertLinks(t.page, job, ["youtube", "facebook", "instagram"]);
  assert.match(await t.page.locator("#job-headline").textContent(), /Posted successfully/);

  const seen = await t.page.evaluate(() => window.__seen);
  assert.ok(seen.badges.includes("Posting"), `the page showed Posting (${seen.badges})`);
  const withProgress = status.bodies.some((b) => Object.values(b.results || {})
    .some((r) => r.state === "running" && typeof r.progress === "number"));
  console.log(`status bodies: ${status.bodies.length}, with progress: ${withProgress}, ` +
    `progress bars drawn: ${seen.progress.length}`);
  if (STRICT_PROGRESS || withProgress) {
    assert.ok(seen.progress.length > 0, "a progress bar while a platform uploads");
    for (const p of seen.progress) {
      assert.match(p.label, /^(YouTube|Facebook|Instagram) upload progress$/);
      assert.ok(p.value >= 0 && p.value <= 1, `progress ${p.value} within 0..1`);
      assert.match(p.text, /\d+ %/);
    }
  }
  const longPolls = status.requests.filter((r) => r.url.includes("wait=25") &&
    r.headers["if-none-match"]);
  assert.ok(longPolls.length > 0, "the page long-polls with If-None-Match");
  assert.ok(status.requests.every((r) => !r.url.includes(fx.token)), "no token in a URL");

  const entry = t.page.locator(`#job-list li[data-job-id="${jobId}"]`);
  await waitFor("the list entry to say Completed", async () =>
    (await entry.locator(".badge").textContent()) === "Completed");
  assert.match(await entry.textContent(), /YouTube\s*✓/);
  await t.page.waitForTimeout(300); // the live region speaks after a moment
  assert.match(await t.page.locator("#announcer").textContent(), /Completed/);
  await screenshot(t.page, "status-page.png");
  await t.page.setViewportSize({ width: 390, height: 844 });
  await screenshot(t.page, "status-page-mobile.png");
  return t;
};

// One platform fails for good (its message may hold HTML); Retry posts it
// again and the job ends Completed with both links.
scenarios.partial_failure_then_retry = async (browser) => {
  const t = await openPage(browser);
  await signIn(t.page);
  const jobId = await post(t.page, { platforms: ["YouTube", "Facebook"], title: fx.title });
  await waitForBadge(t.page, "Completed");
  const job = await apiStatus(jobId);
  assert.equal(job.results.facebook.state, "failed");
  const fb = platformItem(t.page, "facebook");
  assert.match(await fb.textContent(), /✗\s*Failed/);
  assert.equal(await fb.locator(".platform-message").textContent(), job.results.facebook.error);
  assert.ok(job.results.facebook.error.includes(fx.faultMessage), "the platform's message");
  assert.equal(await t.page.locator("#job img, #job b").count(), 0, "the message is text");
  assert.match(await t.page.locator("#job-headline").textContent(), /Facebook failed/);
  const retry = t.page.getByRole("button", { name: "Retry", exact: true });
  assert.ok(await retry.isVisible(), "Retry for a finished job with a failure");
  assert.ok(!(await t.page.getByRole("button", { name: "Cancel", exact: true }).isVisible()));
  await screenshot(t.page, "status-page-partial-failure.png");

  await retry.click();
  await waitFor("focus on the job after Retry", async () =>
    (await activeId(t.page)) === "job-heading");
  await waitFor("Facebook posted after Retry", async () =>
    /✓\s*Posted/.test(await fb.textContent()), JOB_TIMEOUT_MS);
  await waitForBadge(t.page, "Completed");
  const again = await apiStatus(jobId);
  assert.equal(again.results.facebook.state, "succeeded");
  await assertLinks(t.page, again, ["youtube", "facebook"]);
  assert.ok(!(await retry.isVisible()), "no Retry once nothing failed");
  return t;
};

// A platform over its quota waits: the page says so, with when it tries again,
// and the platform's words.
scenarios.quota_wait_is_shown = async (browser) => {
  const t = await openPage(browser);
  await signIn(t.page);
  const jobId = await post(t.page, { platforms: ["YouTube"], title: fx.title });
  const yt = platformItem(t.page, "youtube");
  await waitFor("the quota wait on the page", async () =>
    /Waiting for the platform's quota until/.test(await yt.textContent()), JOB_TIMEOUT_MS);
  const job = await apiStatus(jobId);
  assert.equal(job.results.youtube.phase, "waiting_for_quota");
  assert.ok((await yt.textContent()).includes("quota"), "the platform's words");
  await screenshot(t.page, "status-page-quota-wait.png");
  return t;
};

// Titles, descriptions and messages are data: shown as the characters sent.
scenarios.html_is_shown_as_text = async (browser) => {
  const t = await openPage(browser);
  await signIn(t.page);
  const jobId = await post(t.page, { platforms: ["Facebook"], title: fx.htmlTitle,
    description: fx.htmlDescription });
  await waitFor("the job's title", async () =>
    (await t.page.locator("#job-title").textContent()) === fx.htmlTitle);
  assert.equal(await t.page.locator("#job-description").textContent(), fx.htmlDescription);
  const entry = t.page.locator(`#job-list li[data-job-id="${jobId}"]`);
  await waitFor("the job in the list", async () => (await entry.count()) === 1);
  assert.equal(await entry.locator(".job-open-title").textContent(), fx.htmlTitle);
  await waitForBadge(t.page, "Completed");
  assert.equal(await t.page.locator("img, script:not([src]), b").count(), 0,
    "no element made from the data");
  assert.equal(await t.page.evaluate(() => window.__pwned), undefined, "no script ran");
  return t;
};

// A job scheduled for later has not started: Cancel is offered and cancels it.
scenarios.cancel_a_scheduled_job = async (browser) => {
  const t = await openPage(browser);
  await signIn(t.page);
  const when = localInput(30);
  const sent = t.page.waitForRequest((r) => r.method() === "POST" &&
    new URL(r.url()).pathname === "/social-post");
  const jobId = await post(t.page, { platforms: ["YouTube"], title: fx.title, publishAt: when });
  assert.equal((await sent).postDataJSON().scheduledAt, when + ":00.000Z");
  await waitForBadge(t.page, "Queued");
  assert.match(await t.page.locator("#job-headline").textContent(), /queued for posting/);
  assert.match(await platformItem(t.page, "youtube").textContent(), /⏳\s*Queued/);
  const cancel = t.page.getByRole("button", { name: "Cancel", exact: true });
  assert.ok(await cancel.isVisible(), "Cancel while nothing has started");
  assert.ok(!(await t.page.getByRole("button", { name: "Retry", exact: true }).isVisible()));
  await cancel.click();
  await waitForBadge(t.page, "Cancelled");
  assert.match(await platformItem(t.page, "youtube").textContent(), /Cancelled/);
  assert.ok(!(await cancel.isVisible()), "no Cancel once cancelled");
  const job = await apiStatus(jobId);
  assert.equal(job.results.youtube.state, "cancelled");
  await t.page.waitForTimeout(300);
  assert.match(await t.page.locator("#announcer").textContent(), /Cancel/);
  return t;
};

// The token lives in this tab's sessionStorage: not in localStorage, not in
// a cookie, not in another tab; a refused token says why.
scenarios.token_in_session_storage_only = async (browser) => {
  const t = await openPage(browser);
  await t.page.getByLabel("Access token").fill("not-a-token");
  await t.page.getByRole("button", { name: "Sign in" }).click();
  const error = t.page.locator("#signin-error");
  await waitFor("the refusal", async () => await error.isVisible());
  assert.match(await error.textContent(), /invalid_token/);
  assert.equal(await t.page.evaluate(() => sessionStorage.length), 0, "a refused token is dropped");

  await signIn(t.page, "Bearer " + fx.token + " "); // pasted with its scheme: accepted
  const stored = await t.page.evaluate(() => ({ session: Object.values(sessionStorage),
    local: localStorage.length, cookie: document.cookie }));
  assert.deepEqual(stored, { session: [fx.token], local: 0, cookie: "" });

  await t.page.reload();
  await t.page.getByLabel("Video ID").waitFor(); // still signed in in this tab
  assert.equal(await t.page.locator("#signin").isVisible(), false);

  const other = await t.context.newPage(); // another tab: sessionStorage is per tab
  await other.goto(fx.pageUrl);
  await other.getByLabel("Access token").waitFor();
  assert.equal(await other.evaluate(() => sessionStorage.length + localStorage.length), 0);
  await other.close();

  await t.page.getByRole("button", { name: "Sign out" }).click();
  await t.page.getByLabel("Access token").waitFor();
  assert.equal(await activeId(t.page), "token");
  assert.equal(await t.page.evaluate(() => sessionStorage.length + localStorage.length), 0);
  return t;
};

// The network drops: the page says it is reconnecting, backs off, and
// recovers by itself; going offline and online again does the same.
scenarios.network_drop_then_recovery = async (browser) => {
  const t = await openPage(browser);
  await signIn(t.page);
  let aborted = 0;
  const jobStatus = (url) => url.pathname === "/social-post-status" && url.searchParams.has("jobId");
  const drop = (route) => {
    aborted += 1;
    return route.abort("internetdisconnected");
  };
  await t.page.route(jobStatus, drop);
  const jobId = await post(t.page, { platforms: ["YouTube"], title: fx.title });
  const connection = t.page.locator("#connection");
  await waitFor("Reconnecting", async () => /Reconnecting/.test(await connection.textContent()));
  await waitFor("a second try after backoff", async () => aborted >= 2);
  await screenshot(t.page, "status-page-reconnecting.png");
  await t.page.unroute(jobStatus, drop);
  await waitFor("the page to recover", async () =>
    !/Reconnecting/.test(await connection.textContent()), 60000);
  await waitForBadge(t.page, "Completed");
  assert.equal((await apiStatus(jobId)).status, "completed");

  // offline while a long-poll is open (a job scheduled for later)
  const status = watchStatus(t.page);
  const later = await post(t.page, { platforms: ["YouTube"], title: fx.title,
    publishAt: localInput(30) });
  await waitForBadge(t.page, "Queued");
  await waitFor("a long-poll in flight", async () =>
    status.requests.some((r) => r.url.includes(later) && r.url.includes("wait=25")));
  await t.context.setOffline(true);
  await waitFor("Reconnecting while offline", async () =>
    /Reconnecting/.test(await connection.textContent()));
  await t.context.setOffline(false);
  await waitFor("Reconnected once online", async () =>
    /Reconnected/.test(await connection.textContent()), 60000);
  await t.page.getByRole("button", { name: "Cancel", exact: true }).click();
  await waitForBadge(t.page, "Cancelled");
  return t;
};

// An API (or something in front of it) whose answers tell nothing new and
// come at once: the same 200 and ETag every time (If-None-Match ignored), then
// 304s without waiting. The page backs off instead of asking in a loop.
scenarios.unexpected_answers_back_off = async (browser) => {
  const t = await openPage(browser);
  await signIn(t.page);
  const jobStatus = (url) => url.pathname === "/social-post-status" && url.searchParams.has("jobId");
  const jobId = await post(t.page, { platforms: ["YouTube"], title: fx.title,
    publishAt: localInput(30) });
  await waitForBadge(t.page, "Queued");
  const body = JSON.stringify(await apiStatus(jobId));
  const answers = [
    { status: 200, headers: { "Content-Type": "application/json", ETag: '"same"' }, body },
    { status: 304, headers: { ETag: '"same"' } },
  ];
  for (const answer of answers) {
    let asked = 0;
    const quick = (route) => {
      asked += 1;
      return route.fulfill(answer);
    };
    await t.page.route(jobStatus, quick);
    await t.context.setOffline(true); // ends the long-poll in flight
    await t.context.setOffline(false);
    await new Promise((r) => setTimeout(r, 6000));
    await t.page.unroute(jobStatus, quick);
    await t.context.setOffline(true); // ends the pause: the real API answers again
    await t.context.setOffline(false);
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(asked >= 2, `only ${asked} status requests answered ${answer.status}: not tried`);
    assert.ok(asked <= 8, `${asked} status requests in 6 s answered ${answer.status} at once`);
  }
  assert.equal(await badge(t.page).textContent(), "Queued");
  return t;
};

// Everything by keyboard: Tab through the form, Space for checkboxes, Enter
// to post; every control reached has a name; focus lands on the job.
scenarios.keyboard_only = async (browser) => {
  const t = await openPage(browser);
  const focused = () => t.page.evaluate(() => {
    const e = document.activeElement;
    const label = (e.labels && e.labels.length ? e.labels[0].textContent
      : e.getAttribute("aria-label") || e.textContent || "").trim();
    return { id: e.id, tag: e.tagName, type: e.type, value: e.value, label };
  });
  await t.page.keyboard.press("Tab");
  assert.equal((await focused()).label, "Skip to content");
  await t.page.keyboard.press("Tab");
  assert.equal((await focused()).id, "token");
  await t.page.keyboard.type(fx.token);
  await t.page.keyboard.press("Enter");
  await t.page.getByLabel("Video ID").waitFor();
  await waitFor("focus on Video ID after signing in", async () => (await focused()).id === "video-id");
  await t.page.keyboard.type(fx.videoId);
  const expectNext = async (want, check) => {
    await t.page.keyboard.press("Tab");
    const f = await focused();
    assert.equal(f.label, want, `Tab reaches ${want} (got ${JSON.stringify(f)})`);
    if (check) await t.page.keyboard.press("Space");
  };
  await expectNext("YouTube", true);
  await expectNext("Facebook", false);
  await expectNext("Instagram", true);
  await expectNext("TikTok", false);
  await expectNext("Title");
  await t.page.keyboard.type(fx.title);
  await expectNext("Description");
  await t.page.keyboard.type("Posted without a mouse.");
  let f;
  // the date field has a stop per part, then the chosen platforms' options
  for (let i = 0; i < 40; i++) {
    await t.page.keyboard.press("Tab");
    f = await focused();
    assert.ok(f.label, `every control reached has a name: ${JSON.stringify(f)}`);
    if (f.id === "post-button") break;
  }
  assert.equal(f.id, "post-button", "Tab reaches Post");
  const answer = t.page.waitForResponse((r) => r.request().method() === "POST");
  await t.page.keyboard.press("Enter");
  const body = (await answer).request().postDataJSON();
  assert.deepEqual(body.platforms, ["youtube", "instagram"]);
  assert.equal(body.title, fx.title);
  await waitFor("focus on the new job", async () => (await focused()).id === "job-heading");
  await waitForBadge(t.page, "Completed");
  const jobId = (await t.page.evaluate(() => location.hash)).slice(5);
  await assertLinks(t.page, await apiStatus(jobId), ["youtube", "instagram"]);
  // every form control on the page has a name, and status changes are announced
  const unnamed = await t.page.evaluate(() => [...document.querySelectorAll(
    "input, textarea, select, button, progress, a[href]")]
    .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute("aria-label") &&
      !e.textContent.trim()).map((e) => e.outerHTML));
  assert.deepEqual(unnamed, []);
  assert.equal(await t.page.locator("#announcer").getAttribute("aria-live"), "polite");
  return t;
};

// The progress bar itself, from status bodies as the worker will write them
// (results[p].progress and phase), served by a stand-in for the API.
scenarios.progress_bar_from_status_bodies = async (browser) => {
  const t = await openPage(browser);
  await signIn(t.page);
  const jobId = "00000000-0000-4000-8000-00000000abcd";
  const now = new Date().toISOString();
  const body = (status, youtube) => ({ jobId, status, videoId: fx.videoId,
    platforms: ["youtube", "facebook"], title: "Progress", description: null, error: null,
    results: { youtube, facebook: { state: "succeeded", success: true, attempts: 0,
      url: "https://www.facebook.com/1/videos/2/", postId: "2" } },
    createdAt: now, updatedAt: now });
  const versions = [
    body("processing", { state: "running", attempts: 0, phase: "uploading", progress: 0.42 }),
    body("processing", { state: "running", attempts: 0, phase: "processing", progress: 0.9 }),
    body("completed", { state: "succeeded", success: true, attempts: 0, postId: "abc",
      url: "https://www.youtube.com/watch?v=abc", visibility: "private" }),
  ];
  let served = 0;
  await t.page.route((url) => url.searchParams.get("jobId") === jobId, async (route) => {
    const i = Math.min(served, versions.length - 1);
    served += 1;
    await new Promise((r) => setTimeout(r, 700));
    await route.fulfill({ status: 200, contentType: "application/json",
      headers: { ETag: `"v${i}"` }, body: JSON.stringify(versions[i]) });
  });
  await t.page.evaluate((id) => { location.hash = "#job=" + id; }, jobId);
  const bar = t.page.getByRole("progressbar", { name: "YouTube upload progress" });
  await waitFor("the progress bar at 42 %", async () => (await bar.count()) === 1 &&
    (await bar.evaluate((p) => p.value)) === 0.42);
  assert.match(await platformItem(t.page, "youtube").textContent(), /⏳\s*Uploading.*42 %/);
  await screenshot(t.page, "status-page-progress.png");
  await waitFor("the progress bar at 90 %", async () =>
    /⏳\s*Processing.*90 %/.test(await platformItem(t.page, "youtube").textContent()));
  assert.equal(await bar.getAttribute("aria-valuetext"), "90 %, processing");
  await waitForBadge(t.page, "Completed", 15000);
  assert.equal(await t.page.getByRole("progressbar").count(), 0, "no bar once posted");
  await assertLinks(t.page, versions[2], ["youtube", "facebook"]);
  // how YouTube really published it (an unaudited project's uploads are private)
  assert.match(await platformItem(t.page, "youtube").textContent(), /Visibility: private/);
  return t;
};

// Errors of the API are shown with their message and code.
scenarios.api_errors_are_shown = async (browser) => {
  const t = await openPage(browser);
  await signIn(t.page);
  const error = t.page.locator("#post-error");
  await fillPost(t.page, { platforms: [] });
  await t.page.getByRole("button", { name: "Post", exact: true }).click();
  assert.match(await error.textContent(), /at least one platform/);
  assert.equal(await error.getAttribute("role"), "alert");

  await fillPost(t.page, { platforms: ["YouTube"], title: "a <b> title" });
  await t.page.getByRole("button", { name: "Post", exact: true }).click();
  await waitFor("the API's refusal", async () => /invalid_characters/.test(await error.textContent()));

  await fillPost(t.page, { videoId: fx.otherVideoId, platforms: ["Facebook"] });
  await t.page.getByRole("button", { name: "Post", exact: true }).click();
  await waitFor("video not found", async () => /video_not_found/.test(await error.textContent()));
  assert.equal(await t.page.locator("#job").isVisible(), false, "no job was created");
  return t;
};

// TikTok and per-platform options: each chosen platform shows its options;
// a bad value and TikTok's missing privacy level are refused by the API,
// whose message is shown next to the field (no job is made); then the job
// is made with the options, shows them, and the API stored them.
scenarios.options_and_tiktok = async (browser) => {
  const t = await openPage(browser);
  await signIn(t.page);
  const tiktokOptions = t.page.getByRole("group", { name: "TikTok options" });
  assert.equal(await tiktokOptions.isVisible(), false, "no options before TikTok is chosen");
  await fillPost(t.page, { platforms: ["Instagram", "TikTok"], title: "Options" });
  assert.equal(await tiktokOptions.isVisible(), true, "TikTok's options once it is chosen");
  assert.equal(await t.page.getByRole("group", { name: "YouTube options" }).isVisible(), false);
  const privacy = t.page.getByLabel("TikTok Who can see it");
  assert.equal(await privacy.inputValue(), "", "no privacy level is chosen for the person");
  const collaborators = t.page.getByLabel("Instagram Collaborators");
  await collaborators.fill("ann, bob, cy, dee");
  const submits = [];
  t.page.on("response", (r) => {
    if (r.request().method() === "POST" && new URL(r.url()).pathname === "/social-post") {
      submits.push(r.status());
    }
  });
  await t.page.getByRole("button", { name: "Post", exact: true }).click();
  const collabError = t.page.locator("#opt-instagram-collaborators-error");
  await waitFor("the API's message next to the collaborators", async () =>
    (await collabError.isVisible()) &&
    /options\.instagram\.collaborators has at most 3 usernames/.test(await collabError.textContent()));
  assert.equal(await collaborators.getAttribute("aria-invalid"), "true");
  assert.equal(await activeId(t.page), "opt-instagram-collaborators", "focus goes to the field");
  await screenshot(t.page, "status-page-option-error.png");

  await collaborators.fill("ann, bob");
  await t.page.getByLabel("Instagram Cover frame (ms)").fill("soon");
  await t.page.getByRole("button", { name: "Post", exact: true }).click();
  const frameError = t.page.locator("#opt-instagram-thumbOffsetMs-error");
  await waitFor("the API's message next to the cover frame", async () =>
    /options\.instagram\.thumbOffsetMs must be a whole number/.test(await frameError.textContent()));
  assert.equal(await collabError.isVisible(), false, "the earlier message is gone");

  await t.page.getByLabel("Instagram Cover frame (ms)").fill("1500");
  await t.page.getByRole("button", { name: "Post", exact: true }).click();
  const privacyError = t.page.locator("#opt-tiktok-privacyLevel-error");
  await waitFor("the API's message next to the privacy level", async () =>
    /options\.tiktok\.privacyLevel is required/.test(await privacyError.textContent()));
  assert.equal(await activeId(t.page), "opt-tiktok-privacyLevel");
  assert.deepEqual(submits, [400, 400, 400]);
  assert.equal(await t.page.locator("#job").isVisible(), false, "no job was created");

  await privacy.selectOption("SELF_ONLY");
  await t.page.getByLabel("TikTok Turn off Duet").selectOption("true");
  await t.page.getByLabel("TikTok Title").fill("TikTok's own caption");
  const answer = t.page.waitForResponse((r) => r.request().method() === "POST" &&
    new URL(r.url()).pathname === "/social-post");
  await t.page.getByRole("button", { name: "Post", exact: true }).click();
  const res = await answer;
  assert.equal(res.status(), 202, await res.text());
  const { jobId } = await res.json();
  await waitFor("the TikTok options on show", async () =>
    /Options: Who can see it: Only me; Title: TikTok's own caption; Turn off Duet: yes/.test(
      await platformItem(t.page, "tiktok").textContent()));
  assert.match(await platformItem(t.page, "instagram").textContent(),
    /Options: Cover frame \(ms\): 1500; Collaborators: ann, bob/);
  assert.equal(await privacyError.isVisible(), false);
  await screenshot(t.page, "status-page-options.png");
  const job = await apiStatus(jobId);
  assert.deepEqual(job.platforms, ["instagram", "tiktok"]);
  assert.deepEqual(job.options, {
    instagram: { thumbOffsetMs: 1500, collaborators: ["ann", "bob"] },
    tiktok: { privacyLevel: "SELF_ONLY", title: "TikTok's own caption", disableDuet: true } });
  return t;
};

// Connecting accounts through the consent pages (fx.oauthUrl is the stack's
// OAuth fake): YouTube, Facebook (two Pages: choosing the second), Instagram
// and TikTok, each listed with its name; a video posted to all four; TikTok
// disconnected; a cancelled consent shown as such.
async function connectThroughConsent(page, name, decision = "Allow") {
  await page.getByRole("button", { name: `Connect ${name}` }).click();
  await page.waitForURL((u) => u.toString().startsWith(fx.oauthUrl));
  await page.getByRole("link", { name: decision }).click();
  await page.waitForURL((u) => new URL(u).pathname === "/social-post-ui/");
  await page.locator("#account-list li").first().waitFor();
}

const accountItem = (page, id) => page.locator(`#account-list li[data-platform="${id}"]`);

scenarios.connect_accounts_then_post = async (browser) => {
  const t = await openPage(browser);
  await signIn(t.page);
  for (const id of ["youtube", "facebook", "instagram", "tiktok"]) {
    assert.match(await accountItem(t.page, id).textContent(), /not connected/);
  }
  await connectThroughConsent(t.page, "YouTube");
  await waitFor("YouTube connected", async () =>
    /YouTube is connected/.test(await t.page.locator("#accounts-message").textContent()));
  assert.match(await accountItem(t.page, "youtube").textContent(), /Sandbox Channel/);
  assert.equal(new URL(t.page.url()).search, "", "the outcome is taken out of the address");

  await connectThroughConsent(t.page, "Facebook");
  await waitFor("the Page choice", async () =>
    /Choose which Facebook Page/.test(await t.page.locator("#accounts-message").textContent()));
  const choice = t.page.locator('form.account-choice[data-platform="facebook"]');
  await choice.getByLabel("Second Page").check();
  await screenshot(t.page, "status-page-accounts-choice.png");
  await choice.getByRole("button", { name: "Use this Page" }).click();
  await waitFor("the chosen Page listed", async () =>
    /Second Page/.test(await accountItem(t.page, "facebook").textContent()));
  assert.equal(await choice.count(), 0, "the choice is gone once made");

  await connectThroughConsent(t.page, "Instagram");
  await waitFor("Instagram listed", async () =>
    /sandbox_creator/.test(await accountItem(t.page, "instagram").textContent()));
  await connectThroughConsent(t.page, "TikTok");
  await waitFor("TikTok listed", async () =>
    /Sandbox Toker/.test(await accountItem(t.page, "tiktok").textContent()));
  await screenshot(t.page, "status-page-accounts.png");

  await fillPost(t.page, { platforms: ["YouTube", "Facebook", "Instagram", "TikTok"],
    title: fx.title, description: "Posted to accounts connected on this page." });
  await t.page.getByLabel("TikTok Who can see it").selectOption("SELF_ONLY");
  const answer = t.page.waitForResponse((r) => r.request().method() === "POST" &&
    new URL(r.url()).pathname === "/social-post");
  await t.page.getByRole("button", { name: "Post", exact: true }).click();
  const res = await answer;
  assert.equal(res.status(), 202, await res.text());
  const { jobId } = await res.json();
  await waitForBadge(t.page, "Completed");
  const job = await apiStatus(jobId);
  for (const p of ["youtube", "facebook", "instagram", "tiktok"]) {
    assert.equal(job.results[p].success, true, `${p}: ${JSON.stringify(job.results[p])}`);
  }

  await accountItem(t.page, "tiktok").getByRole("button", { name: "Disconnect TikTok" }).click();
  await waitFor("TikTok disconnected", async () =>
    /not connected/.test(await accountItem(t.page, "tiktok").textContent()));
  assert.match(await t.page.locator("#accounts-message").textContent(), /TikTok is disconnected/);

  await connectThroughConsent(t.page, "TikTok", "Cancel");
  await waitFor("the cancelled consent's message", async () =>
    /Connecting TikTok was cancelled/.test(await t.page.locator("#accounts-error").textContent()));
  assert.equal(await t.page.locator("#accounts-error").getAttribute("data-outcome"), "access_denied");
  assert.match(await accountItem(t.page, "tiktok").textContent(), /not connected/);
  await screenshot(t.page, "status-page-accounts-denied.png");
  return t;
};

// ------------------------------------------------------------------ main

async function main() {
  const name = process.argv[2];
  if (!scenarios[name]) {
    console.error(`usage: status_page.js <scenario>; one of: ${Object.keys(scenarios).join(", ")}`);
    process.exit(2);
  }
  const browser = await launch();
  let t;
  try {
    t = await scenarios[name](browser);
    assert.deepEqual(t.problems, [], "no page errors, dialogs or CSP violations");
    console.log(`ok   ${name}`);
  } catch (e) {
    console.log(`FAIL ${name}: ${e.stack || e}`);
    try {
      const pages = browser.contexts().flatMap((c) => c.pages());
      if (pages.length) await screenshot(pages[pages.length - 1], `failed-${name}.png`);
    } catch {
      /* the browser is gone */
    }
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
