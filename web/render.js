// render.js: turns the API's job bodies into DOM, and words for people.
//
// Every piece of data (titles, descriptions, platform messages, URLs) reaches
// the page as a text node or an attribute set through the DOM, never as HTML:
// a title like <img onerror=...> is shown as those characters. Links are made
// only for http(s) URLs. Functions here build elements; app.js places them.

export const PLATFORMS = [
  { id: "youtube", name: "YouTube" },
  { id: "facebook", name: "Facebook" },
  { id: "instagram", name: "Instagram" },
  { id: "tiktok", name: "TikTok" },
];

const TITLE = { key: "title", label: "Title", kind: "text",
  hint: "Optional: this platform's own title instead of the job's." };
const DESCRIPTION = { key: "description", label: "Description", kind: "textarea" };
const FLAG = [["", "Platform default"], ["true", "Yes"], ["false", "No"]];

/**
 * The options each platform takes (the API's `options`), as form fields:
 * key, label, kind (text, textarea, choice, flag, list, number), choices,
 * hint. Every one is optional but TikTok's privacy level, which has no
 * default: the person chooses it.
 */
export const OPTION_FIELDS = {
  youtube: [
    TITLE, DESCRIPTION,
    { key: "privacyStatus", label: "Privacy", kind: "choice",
      choices: [["", "Platform default"], ["public", "Public"], ["unlisted", "Unlisted"],
        ["private", "Private"]] },
    { key: "tags", label: "Tags", kind: "list", hint: "Comma-separated." },
    { key: "categoryId", label: "Category ID", kind: "text", hint: "A number, such as 22." },
    { key: "madeForKids", label: "Made for kids", kind: "flag" },
    { key: "notifySubscribers", label: "Notify subscribers", kind: "flag" },
    { key: "thumbnailUrl", label: "Thumbnail URL", kind: "text" },
  ],
  facebook: [
    TITLE, DESCRIPTION,
    { key: "asReel", label: "Post as a Reel", kind: "flag",
      hint: "Default: a Reel when the video is vertical." },
  ],
  instagram: [
    TITLE, DESCRIPTION,
    { key: "coverUrl", label: "Cover image URL", kind: "text" },
    { key: "thumbOffsetMs", label: "Cover frame (ms)", kind: "number" },
    { key: "shareToFeed", label: "Share to feed", kind: "flag" },
    { key: "collaborators", label: "Collaborators", kind: "list",
      hint: "Up to 3 usernames, comma-separated." },
    { key: "locationId", label: "Location ID", kind: "text" },
  ],
  tiktok: [
    { key: "privacyLevel", label: "Who can see it", kind: "choice", required: true,
      choices: [["", "Choose…"], ["PUBLIC_TO_EVERYONE", "Everyone"],
        ["MUTUAL_FOLLOW_FRIENDS", "Friends"], ["FOLLOWER_OF_CREATOR", "Followers"],
        ["SELF_ONLY", "Only me"]],
      hint: "Required: TikTok has no default." },
    TITLE, DESCRIPTION,
    { key: "disableComment", label: "Turn off comments", kind: "flag" },
    { key: "disableDuet", label: "Turn off Duet", kind: "flag" },
    { key: "disableStitch", label: "Turn off Stitch", kind: "flag" },
    { key: "videoCoverTimestampMs", label: "Cover frame (ms)", kind: "number" },
    { key: "brandContentToggle", label: "Paid partnership (another brand)", kind: "flag" },
    { key: "brandOrganicToggle", label: "Promotes your own business", kind: "flag" },
    { key: "isAigc", label: "AI-generated", kind: "flag" },
  ],
};

/** The display name of a platform id ("youtube" -> "YouTube"). */
export function platformName(id) {
  const p = PLATFORMS.find((x) => x.id === id);
  return p ? p.name : String(id);
}

/**
 * el("p", {className: "x", hidden: true}, "text", child, ...): an element
 * with properties (or attributes for names with a dash or "aria"/"data"
 * prefixes) and children; strings become text nodes.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.includes("-") || key === "role") node.setAttribute(key, value === true ? "" : value);
    else node[key] = value;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/** A string for people: 2026-01-23T10:00:00.000Z -> the local date and time. */
export function formatTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso || "");
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function timeElement(iso) {
  return el("time", { dateTime: iso || "" }, formatTime(iso));
}

/** url when it is an absolute http(s) URL, else null (no javascript: links). */
export function safeUrl(url) {
  if (typeof url !== "string") return null;
  try {
    const u = new URL(url);
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  } catch {
    return null;
  }
}

/** The result entry of one platform, with a state even before the first update. */
export function resultOf(job, platform) {
  const r = (job.results && job.results[platform]) || {};
  let state = r.state;
  if (!state) state = r.success === true ? "succeeded" : r.success === false ? "failed" : "queued";
  return { ...r, state };
}

/** Progress 0..1 when the result carries a usable one, else null. */
export function progressOf(result) {
  const p = result.progress;
  if (typeof p !== "number" || !Number.isFinite(p)) return null;
  return Math.min(1, Math.max(0, p));
}

function capitalize(s) {
  return s ? s.charAt(0).toUpperCase() + s.slice(1) : s;
}

/** {icon, text} for a platform's state, for the list and the detail. */
export function stateWords(result) {
  switch (result.state) {
    case "succeeded": return { icon: "✓", text: "Posted" };
    case "failed": return { icon: "✗", text: "Failed" };
    case "cancelled": return { icon: "–", text: "Cancelled" };
    case "running":
      return { icon: "⏳", text: result.phase ? capitalize(String(result.phase)) : "Posting" };
    default: /* queued: not started, waiting to retry, or between steps (Instagram processing) */
      if (result.phase === "waiting_for_quota") /* the platform's quota is used up */
        return { icon: "⏳", text: result.retryAt
          ? `Waiting for the platform's quota until ${formatTime(result.retryAt)}`
          : "Waiting for the platform's quota" };
      if (result.lastError) return { icon: "⏳", text: "Waiting to retry" };
      return { icon: "⏳", text: result.phase ? capitalize(String(result.phase)) : "Queued" };
  }
}

/** True when every platform of a finished job was cancelled. */
function allCancelled(job) {
  const ps = job.platforms || [];
  return ps.length > 0 && ps.every((p) => resultOf(job, p).state === "cancelled");
}

/** The job's status in one word, for badges. */
export function statusWord(job) {
  switch (job.status) {
    case "pending": return "Queued";
    case "processing": return "Posting";
    case "completed": return "Completed";
    case "failed": return allCancelled(job) ? "Cancelled" : "Failed";
    default: return capitalize(String(job.status || "unknown"));
  }
}

/** The job's state as a sentence (the seed's UI states). */
export function headline(job) {
  const ps = job.platforms || [];
  const names = (state) => ps.filter((p) => resultOf(job, p).state === state).map(platformName);
  switch (job.status) {
    case "pending":
      return "Your video is queued for posting…";
    case "processing": {
      const parts = ps.map((p) => `${platformName(p)} ${stateWords(resultOf(job, p)).icon}`);
      return `Posting to platforms… (${parts.join(", ")})`;
    }
    case "completed": {
      const failed = names("failed");
      const posted = names("succeeded").join(", ");
      return failed.length
        ? `Posted to ${posted}; ${failed.join(", ")} failed.`
        : `Posted successfully to ${posted}.`;
    }
    case "failed":
      if (allCancelled(job)) return "Cancelled before anything was posted.";
      return "Failed to post" + (job.error ? `: ${job.error}` : ".");
    default:
      return "";
  }
}

/** "youtube, facebook" -> "YouTube, Facebook". */
export function platformList(ids) {
  return (ids || []).map(platformName).join(", ");
}

/** True when Retry applies: finished, and some platform failed. */
export function canRetry(job) {
  const done = job.status === "completed" || job.status === "failed";
  return done && (job.platforms || []).some((p) => resultOf(job, p).state === "failed");
}

/** True when Cancel applies: nothing has started yet. */
export function canCancel(job) {
  return job.status === "pending";
}

// ------------------------------------------------------------------ options

/** The id of an option's input ("opt-tiktok-privacyLevel"); key omitted: the platform's. */
export function optionId(platform, key) {
  return key ? `opt-${platform}-${key}` : `opt-${platform}`;
}

/** One option's field: label (its accessible name starts with the platform), input, hint, error. */
function optionField(platform, field) {
  const id = optionId(platform, field.key);
  const described = [field.hint ? id + "-hint" : null, id + "-error"].filter(Boolean).join(" ");
  const common = { id, "data-option": field.key, "aria-describedby": described };
  let input;
  if (field.kind === "choice" || field.kind === "flag") {
    const choices = field.kind === "flag" ? FLAG : field.choices;
    input = el("select", { ...common, "aria-required": field.required ? "true" : undefined },
      choices.map(([value, text]) => el("option", { value }, text)));
  } else if (field.kind === "textarea") {
    input = el("textarea", { ...common, rows: 2 });
  } else {
    input = el("input", { ...common, type: "text", autocomplete: "off",
      inputMode: field.kind === "number" ? "numeric" : undefined });
  }
  const narrow = field.kind === "choice" || field.kind === "flag" || field.kind === "number";
  return el("div", { className: narrow ? "field option-field" : "field option-field wide" },
    el("label", { htmlFor: id },
      el("span", { className: "visually-hidden" }, platformName(platform) + " "), field.label,
      field.required ? el("span", { className: "required", "aria-hidden": "true" }, " *") : null),
    input,
    field.hint ? el("p", { id: id + "-hint", className: "hint" }, field.hint) : null,
    el("p", { id: id + "-error", className: "error option-error", hidden: true }));
}

/** The "options" area of one platform: a fieldset, hidden until the platform is chosen. */
export function optionsFieldset(platform) {
  const id = optionId(platform);
  return el("fieldset", { id, className: "options", "data-platform": platform, hidden: true,
    "aria-describedby": id + "-error" },
  el("legend", {}, `${platformName(platform)} options`),
  el("p", { id: id + "-error", className: "error option-error", hidden: true }),
  OPTION_FIELDS[platform].map((f) => optionField(platform, f)));
}

/** The value of one option's input as the API wants it, or undefined when not set. */
export function optionValue(field, raw) {
  const text = String(raw || "").trim();
  if (!text) return undefined;
  switch (field.kind) {
    case "flag": return text === "true";
    case "list": {
      const items = text.split(",").map((x) => x.trim()).filter(Boolean);
      return items.length ? items : undefined;
    }
    // a number when it reads as one; else as typed, so the API says what is wrong
    case "number": return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
    case "textarea": return String(raw);
    default: return text;
  }
}

/** An option's value for people: yes/no, lists with commas, choices by their words. */
function optionText(field, value) {
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (Array.isArray(value)) return value.map(String).join(", ");
  const choice = field && field.choices && field.choices.find(([v]) => v === value);
  return choice ? choice[1] : String(value);
}

/** "Label: value; ..." of a platform's options, or null when it has none. */
export function optionsSummary(job, platform) {
  const opts = job.options && job.options[platform];
  if (!opts || typeof opts !== "object") return null;
  // in the form's order (the stored object's order is the database's)
  const fields = OPTION_FIELDS[platform] || [];
  const known = fields.filter((f) => f.key in opts)
    .map((f) => `${f.label}: ${optionText(f, opts[f.key])}`);
  const others = Object.keys(opts).filter((k) => !fields.some((f) => f.key === k))
    .map((k) => `${k}: ${optionText(null, opts[k])}`);
  const parts = known.concat(others);
  return parts.length ? parts.join("; ") : null;
}

/** Where an API message about options points: {platform, key?} from its field
 * path ("options.instagram.collaborators ..."), or null. */
export function optionPath(message) {
  const m = /\boptions\.(youtube|facebook|instagram|tiktok)(?:\.([A-Za-z]+))?/.exec(String(message));
  return m ? { platform: m[1], key: m[2] || null } : null;
}

// ------------------------------------------------------------------ detail

/** The <li> of one platform in the job's detail. */
export function platformItem(job, platform) {
  const r = resultOf(job, platform);
  const name = platformName(platform);
  const words = stateWords(r);
  const li = el("li", { className: `platform state-${r.state}`, "data-platform": platform });
  li.append(
    el("span", { className: "platform-name" }, name),
    el("span", { className: "platform-state" },
      el("span", { className: "icon", "aria-hidden": "true" }, words.icon), " ", words.text),
  );
  const progress = r.state === "running" ? progressOf(r) : null;
  if (progress !== null) {
    const percent = Math.round(progress * 100);
    li.append(el("div", { className: "platform-progress" },
      el("progress", { max: 1, value: progress, "aria-label": `${name} upload progress`,
        "aria-valuetext": `${percent} %${r.phase ? ", " + r.phase : ""}` }),
      el("span", { className: "progress-text", "aria-hidden": "true" }, `${percent} %`)));
  }
  const url = r.state === "succeeded" ? safeUrl(r.url) : null;
  if (url) {
    li.append(el("a", { className: "platform-link", href: url, target: "_blank",
      rel: "noopener noreferrer" }, `View on ${name}`));
  } else if (r.state === "succeeded" && r.url) {
    li.append(el("span", { className: "platform-url" }, String(r.url)));
  }
  const message = r.state === "failed" ? (r.error || r.lastError)
    : r.state === "queued" || r.state === "running" ? r.lastError : null;
  if (message && r.state !== "cancelled") {
    const label = r.state === "failed" ? "" : "Last error: ";
    li.append(el("p", { className: "platform-message" }, label + String(message)));
  }
  if (r.visibility) {
    li.append(el("p", { className: "platform-visibility" }, `Visibility: ${String(r.visibility)}`));
  }
  const summary = optionsSummary(job, platform);
  if (summary) li.append(el("p", { className: "platform-options" }, `Options: ${summary}`));
  if ((r.state === "queued" || r.state === "running") && r.attempts > 0) {
    li.append(el("p", { className: "platform-attempts" },
      `${r.attempts} ${r.attempts === 1 ? "retry" : "retries"} so far`));
  }
  return li;
}

/** A key that changes whenever platformItem would draw something else. */
export function platformKey(job, platform) {
  return JSON.stringify([resultOf(job, platform), optionsSummary(job, platform)]);
}

// ------------------------------------------------------------------ list

/** One entry of the recent jobs list; onOpen(job) when chosen. */
export function jobListItem(job, onOpen, current) {
  const title = job.title ? String(job.title) : "(untitled)";
  const open = el("button", { type: "button", className: "job-open",
    "aria-current": current ? "true" : undefined },
  el("span", { className: "job-open-title" }, title),
  el("span", { className: `badge status-${job.status}` }, statusWord(job)));
  open.addEventListener("click", () => onOpen(job));
  const chips = el("ul", { className: "chips", "aria-label": "Platforms" },
    (job.platforms || []).map((p) => {
      const r = resultOf(job, p);
      const w = stateWords(r);
      return el("li", { className: `chip state-${r.state}` }, platformName(p), " ",
        el("span", { "aria-hidden": "true" }, w.icon),
        el("span", { className: "visually-hidden" }, w.text));
    }));
  return el("li", { className: "job-item", "data-job-id": job.jobId },
    open, el("span", { className: "job-date" }, timeElement(job.createdAt)), chips);
}

/** The time element for a job's detail ("Created ..."). */
export function jobTimes(job) {
  return el("dl", { className: "meta" },
    el("dt", {}, "Job"), el("dd", {}, el("code", {}, String(job.jobId || ""))),
    el("dt", {}, "Video"), el("dd", {}, el("code", {}, String(job.videoId || ""))),
    el("dt", {}, "Created"), el("dd", {}, timeElement(job.createdAt)),
    el("dt", {}, "Updated"), el("dd", {}, timeElement(job.updatedAt)));
}
