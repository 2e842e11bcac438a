// accounts.js: the page's "Accounts" area: the user's connected accounts,
// a Connect (or Reconnect) and a Disconnect button per platform, the choice
// of a Facebook Page when the user manages several, and what happened when
// the browser comes back from a platform's consent page.
//
// The one idea: connecting leaves the page (the platform's consent page),
// and the API sends the browser back to this page with the outcome in the
// query (?accounts=<outcome>&platform=<p>), which is read once, said in
// words, and taken out of the address so a reload does not repeat it.

import * as api from "./api.js";
import { el, platformName, PLATFORMS } from "./render.js";

const $ = (id) => document.getElementById(id);
let hooks = { announce() {}, showError() {}, onAuthError() {} };

// What each outcome of a connection means, in words; name is the platform's.
const OUTCOMES = {
  connected: (name) => `${name} is connected.`,
  choose: (name) => name === "Facebook" ? "Choose which Facebook Page to post to."
    : `Choose which ${name} account to post to.`,
  access_denied: (name) => `Connecting ${name} was cancelled on ${name}'s page: nothing was connected.`,
  consent_failed: (name) => `${name} did not grant access: nothing was connected. Try again.`,
  unknown_state: () => "This connection link is not one this page started (or it was cleared): " +
    "nothing was connected. Start connecting again.",
  expired_state: (name) => `Connecting ${name} took longer than 10 minutes and expired: ` +
    "nothing was connected. Start again.",
  used_state: (name) => `This ${name} connection link was already used: nothing more was stored. ` +
    "Start again if the account is not listed.",
  other_session: (name) => `This ${name} connection was started in another browser or by another ` +
    "user, so it was refused: nothing was connected. Start it again here.",
  exchange_failed: (name) => `${name} refused the connection (its code was not accepted): ` +
    "nothing was stored. Try again.",
  no_account: (name) => name === "YouTube"
    ? "This Google account has no YouTube channel: create one, then connect again."
    : `No ${name} account to post to was found: nothing was connected.`,
  platform_unreachable: (name) => `${name} could not be reached: nothing was connected. Try again.`,
  missing_code: (name) => `${name} sent no authorization code: nothing was connected. Try again.`,
  error: () => "Connecting failed on our side: nothing was stored. Try again.",
};
const GOOD = new Set(["connected", "choose"]);

/** Wires the area; hooks: announce(text), showError(node, error), onAuthError(e). */
export function start(h) {
  hooks = { ...hooks, ...h };
  showOutcome();
}

/** Reads the outcome the API's redirect put in the address, once. */
function showOutcome() {
  const params = new URLSearchParams(location.search);
  const outcome = params.get("accounts");
  if (!outcome) return;
  const platform = params.get("platform") || "";
  const name = platform ? platformName(platform) : "the platform";
  const say = OUTCOMES[outcome] || OUTCOMES.error;
  const node = GOOD.has(outcome) ? $("accounts-message") : $("accounts-error");
  node.textContent = say(name);
  node.hidden = false;
  node.dataset.outcome = outcome;
  hooks.announce(node.textContent);
  params.delete("accounts");
  params.delete("platform");
  const query = params.toString();
  history.replaceState(null, "", location.pathname + (query ? "?" + query : "") + location.hash);
}

/** Loads and shows the caller's accounts and open choices. */
export async function load() {
  try {
    render(await api.listAccounts());
  } catch (e) {
    if (e instanceof api.ApiError && e.status === 401) return hooks.onAuthError(e);
    hooks.showError($("accounts-error"), e);
  }
}

function render({ accounts, choices }) {
  const byPlatform = new Map(accounts.map((a) => [a.platform, a]));
  $("account-list").replaceChildren(...PLATFORMS.map((p) => accountItem(p.id, byPlatform.get(p.id))));
  $("account-choices").replaceChildren(...choices.map(choiceForm));
}

function accountItem(platform, account) {
  const name = platformName(platform);
  const what = account
    ? [el("strong", {}, account.displayName || account.accountId),
      account.needsReconnect ? el("span", { className: "badge badge-warn" }, " needs reconnecting") : ""]
    : [el("span", { className: "hint" }, "not connected")];
  const connectButton = el("button", { type: "button", className: "button-quiet",
    onclick: (ev) => connect(ev.currentTarget, platform) },
  account ? `Reconnect ${name}` : `Connect ${name}`);
  const buttons = [connectButton];
  if (account) {
    buttons.push(el("button", { type: "button", className: "button-danger",
      onclick: (ev) => disconnect(ev.currentTarget, platform) }, `Disconnect ${name}`));
  }
  return el("li", { className: "account", "data-platform": platform },
    el("span", { className: "account-name" }, name + ": "), ...what,
    el("span", { className: "account-actions" }, ...buttons));
}

function choiceForm(choice) {
  const name = platformName(choice.platform);
  const what = choice.platform === "facebook" ? "Page" : "account";
  const form = el("form", { className: "account-choice", "data-platform": choice.platform });
  const fieldset = el("fieldset", {}, el("legend", {}, `Which ${name} ${what} should posts go to?`),
    ...choice.options.map((o, i) => el("label", { className: "check" },
      el("input", { type: "radio", name: "accountId", value: o.id, checked: i === 0 }), " " + o.name)));
  form.append(fieldset, el("button", { type: "submit", className: "button-primary" }, `Use this ${what}`));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const picked = form.querySelector("input[name=accountId]:checked");
    if (!picked) return;
    try {
      await api.chooseAccount(choice.platform, picked.value);
      showMessage(`${name} is connected.`);
      await load();
    } catch (e) {
      failed(e);
    }
  });
  return form;
}

function showMessage(text) {
  $("accounts-error").hidden = true;
  $("accounts-message").textContent = text;
  $("accounts-message").hidden = false;
  hooks.announce(text);
}

function failed(e) {
  if (e instanceof api.ApiError && e.status === 401) return hooks.onAuthError(e);
  $("accounts-message").hidden = true;
  hooks.showError($("accounts-error"), e);
}

async function connect(button, platform) {
  button.disabled = true;
  try {
    const { authorizeUrl } = await api.connectAccount(platform);
    location.assign(authorizeUrl); // the platform's consent page; it sends the browser back
  } catch (e) {
    button.disabled = false;
    failed(e);
  }
}

async function disconnect(button, platform) {
  button.disabled = true;
  const name = platformName(platform);
  try {
    const answer = await api.disconnectAccount(platform);
    showMessage(answer.revoked || !answer.message ? `${name} is disconnected.`
      : `${name} is disconnected here; ${answer.message}.`);
    await load();
  } catch (e) {
    button.disabled = false;
    failed(e);
  }
}
