// The market page: search, the listings table, a provider's page, the live feed and renting.
// Chain text (model names, comments) is written as text, never as HTML: anyone can list a GPU
// named "<script>".

import { api, ApiError } from "./api.js";
import { formatEth, perHour, shortAddress } from "./amounts.js";
import { showPrices } from "./chart.js";
import { amountRows, checkChain, connect, prepareRent, send, wallet } from "./wallet.js";

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 50;
const state = { market: null, sort: null, account: null, renting: null, prepared: null };

/** An element with text and attributes, built without HTML parsing. */
function el(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function providerLink(address) {
  const link = el("a", shortAddress(address), { href: `#provider=${address}`, title: address });
  return link;
}

function ratingText(reputation) {
  if (!reputation) return "–";
  const count = reputation.provider_rating_count;
  return count ? `${reputation.provider_score.toFixed(2)} ★ (${count})` : "new";
}

// ------------------------------------------------------------------ search and the table

async function search() {
  const q = $("query").value.trim();
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (q) params.set("q", q);
  if (state.sort) params.set("sort", state.sort);
  let page;
  try {
    page = await api(`v1/listings?${params}`);
  } catch (err) {
    showQueryError(q, err);
    return;
  }
  hideQueryError();
  renderListings(page);
}

function showQueryError(q, err) {
  const box = $("query-error");
  const position = err instanceof ApiError ? err.fields.position : undefined;
  $("query-caret").textContent =
    Number.isInteger(position) ? `${q}\n${" ".repeat(position)}^` : "";
  $("query-message").textContent = err.message;
  box.hidden = false;
  $("query").setAttribute("aria-invalid", "true");
}

function hideQueryError() {
  $("query-error").hidden = true;
  $("query").removeAttribute("aria-invalid");
}

function renderListings(page) {
  const body = $("listings").tBodies[0];
  body.replaceChildren();
  for (const listing of page.items) {
    const row = el("tr", undefined, { "data-listing": listing.listing_id });
    row.append(
      el("td", listing.listing_id),
      el("td", listing.gpu_model),
      el("td", `${listing.capacity} GB`, { class: "num" }),
      el("td", formatEth(perHour(listing.price, listing.unit)), { class: "num" }),
    );
    const provider = el("td");
    provider.append(providerLink(listing.provider));
    row.append(provider, el("td", ratingText(page.reputations[listing.provider]), { class: "num" }));
    const action = el("td");
    const rent = el("button", "Rent", { type: "button", class: "rent" });
    rent.addEventListener("click", () => openRent(listing));
    action.append(rent);
    row.append(action);
    body.append(row);
  }
  const shown = page.items.length;
  $("summary").textContent =
    `${page.total} listing${page.total === 1 ? "" : "s"} match` +
    (shown < page.total ? `; the first ${shown} shown` : "");
}

function sortBy(key) {
  const current = state.sort;
  state.sort = current === key ? `-${key}` : current === `-${key}` ? null : key;
  for (const th of document.querySelectorAll("#listings th[data-sort]")) {
    const mine = th.dataset.sort;
    th.setAttribute(
      "aria-sort",
      state.sort === mine ? "ascending" : state.sort === `-${mine}` ? "descending" : "none",
    );
  }
  search();
}

// ------------------------------------------------------------------ a provider's page

async function showProvider(address) {
  $("market-view").hidden = true;
  $("provider-view").hidden = false;
  $("provider-address").textContent = address;
  const facts = $("provider-reputation");
  facts.replaceChildren();
  const body = $("provider-listings").tBodies[0];
  body.replaceChildren();
  try {
    const [reputation, page] = await Promise.all([
      api(`v1/accounts/${address}/reputation`),
      api(`v1/listings?${new URLSearchParams({ q: `provider=${address} status=any`, limit: "100" })}`),
    ]);
    const shown = {
      Score: reputation.provider_score.toFixed(2),
      Ratings: reputation.provider_rating_count,
      "Rentals completed": reputation.completed_as_provider,
      "Ended early by the provider": reputation.terminations,
    };
    for (const [name, value] of Object.entries(shown)) facts.append(el("dt", name), el("dd", value));
    for (const listing of page.items) {
      const row = el("tr");
      row.append(
        el("td", listing.listing_id),
        el("td", listing.gpu_model),
        el("td", `${listing.capacity} GB`, { class: "num" }),
        el("td", formatEth(perHour(listing.price, listing.unit)), { class: "num" }),
        el("td", listing.status.toLowerCase()),
      );
      body.append(row);
    }
  } catch (err) {
    facts.append(el("dt", "Error"), el("dd", err.message));
  }
}

function route() {
  const match = /^#provider=(0x[0-9a-fA-F]{40})$/.exec(location.hash);
  if (match) {
    showProvider(match[1]);
  } else {
    $("provider-view").hidden = true;
    $("market-view").hidden = false;
  }
}

// ------------------------------------------------------------------ the live feed

const EVENTS = {
  ListingCreated: (a) => `listing ${a.listingId}: ${a.gpuModel}, ${a.capacity} GB`,
  ListingUpdated: (a) => `listing ${a.listingId} changed its terms`,
  ListingStatusChanged: (a) => `listing ${a.listingId} is ${String(a.status).toLowerCase()}`,
  RentalStarted: (a) => `rental ${a.rentalId} of listing ${a.listingId}, ${formatEth(a.paid)}`,
  RentalExtended: (a) => `rental ${a.rentalId} extended, ${formatEth(a.cost)}`,
  RentalEnded: (a) => `rental ${a.rentalId} ended, ${formatEth(a.used)} billed`,
  Rated: (a) => `rental ${a.rentalId} rated ${a.score}/5`,
  Withdrawn: (a) => `${shortAddress(a.account)} withdrew ${formatEth(a.amount)}`,
  FeeChanged: (a) => `the fee is now ${a.newFeeBps} basis points`,
  PausedChanged: (a) => (a.paused ? "the market paused" : "the market resumed"),
};
const CHANGES_LISTINGS = new Set([
  "ListingCreated", "ListingUpdated", "ListingStatusChanged", "RentalStarted", "RentalEnded",
]);
let refresh = null;

function follow() {
  const feed = new EventSource("events");
  feed.addEventListener("open", () => ($("feed-state").textContent = "· live"));
  for (const [name, describe] of Object.entries(EVENTS)) {
    feed.addEventListener(name, (message) => {
      const event = JSON.parse(message.data);
      const item = el("li", undefined, { "data-event": name });
      item.append(el("span", `block ${event.block_number}`, { class: "muted" }), " ");
      item.append(el("strong", name), " ", describe(event.args));
      const list = $("events");
      list.querySelector(".waiting")?.remove();
      list.prepend(item);
      while (list.children.length > 50) list.lastElementChild.remove();
      if (CHANGES_LISTINGS.has(name)) {
        clearTimeout(refresh);
        refresh = setTimeout(() => {
          search();
          showPrices($("chart-model"), $("chart"), $("chart-note"));
        }, 300);
      }
    });
  }
  // The browser reconnects by itself (with Last-Event-ID, so nothing comes twice).
  feed.addEventListener("error", () => ($("feed-state").textContent = "· reconnecting"));
}

// ------------------------------------------------------------------ renting

function cliCommand(listing, duration) {
  const word = listing.unit.toLowerCase()[0];
  return (
    `gpuhub rent ${listing.listing_id} ${duration}${word} \\\n` +
    `  --contract ${state.market.contract_address} \\\n` +
    `  --rpc URL_OF_A_NODE_ON_CHAIN_${state.market.chain_id} \\\n` +
    "  --from YOUR_KEYSTORE_ALIAS"
  );
}

function openRent(listing) {
  state.renting = listing;
  state.prepared = null;
  $("rent-title").textContent = `Rent listing ${listing.listing_id}`;
  $("rent-listing").textContent =
    `${listing.gpu_model}, ${listing.capacity} GB, ${formatEth(listing.price)} per ` +
    `${listing.unit.toLowerCase()} from ${listing.provider}`;
  $("rent-unit").textContent = `${listing.unit.toLowerCase()}s, ${listing.min_duration} to ${listing.max_duration}`;
  $("rent-duration").min = String(listing.min_duration);
  $("rent-duration").max = String(listing.max_duration);
  $("rent-duration").value = String(listing.min_duration);
  $("rent-summary").hidden = true;
  $("rent-send").disabled = true;
  $("rent-status").textContent = "";
  const noWallet = !wallet();
  $("no-wallet").hidden = !noWallet;
  $("rent-prepare").disabled = noWallet;
  for (const span of document.querySelectorAll(".chain-id")) span.textContent = state.market.chain_id;
  $("cli-command").textContent = cliCommand(listing, listing.min_duration);
  $("rent-dialog").showModal();
}

async function review() {
  const listing = state.renting;
  const duration = Number.parseInt($("rent-duration").value, 10);
  $("cli-command").textContent = cliCommand(listing, duration);
  $("rent-status").textContent = "";
  try {
    state.account ??= await connect();
    showAccount();
    await checkChain(state.market.chain_id);
    state.prepared = await prepareRent(state.account, listing.listing_id, duration);
  } catch (err) {
    $("rent-status").textContent = `${err.name === "Error" ? "" : err.name + ": "}${err.message}`;
    return;
  }
  $("rent-text").textContent = state.prepared.summary;
  const body = $("rent-amounts").tBodies[0];
  body.replaceChildren();
  for (const [name, shown] of amountRows(state.prepared)) {
    const row = el("tr");
    row.append(el("th", name, { scope: "row" }), el("td", shown, { class: "num" }));
    body.append(row);
  }
  $("rent-summary").hidden = false;
  $("rent-send").disabled = false;
}

async function rent() {
  $("rent-send").disabled = true;
  const status = (text) => ($("rent-status").textContent = text);
  try {
    await checkChain(state.market.chain_id);
    const outcome = await send(state.prepared, status);
    const rental = outcome.rentals[0];
    status(
      `Rented: rental ${rental.rental_id}, ${formatEth(rental.paid)} in escrow, until ` +
        `${new Date(rental.end * 1000).toLocaleString()}.`,
    );
    $("rent-dialog").dataset.rental = String(rental.rental_id);
    search();
  } catch (err) {
    status(`Not rented: ${err.message}`);
    $("rent-send").disabled = false;
  }
}

function showAccount() {
  const shown = state.account ? `wallet ${shortAddress(state.account)}` : "";
  $("wallet-status").textContent = wallet() ? shown : "no wallet";
  $("connect").hidden = Boolean(state.account) || !wallet();
}

// ------------------------------------------------------------------ start

async function start() {
  try {
    state.market = await api("health");
    $("chain").textContent =
      `chain ${state.market.chain_id} · marketplace ${shortAddress(state.market.contract_address)}`;
    $("chain").title = state.market.contract_address;
  } catch (err) {
    $("chain").textContent = `the server cannot reach its node: ${err.message}`;
  }
  $("search").addEventListener("submit", (e) => {
    e.preventDefault();
    search();
  });
  for (const th of document.querySelectorAll("#listings th[data-sort]")) {
    th.addEventListener("click", () => sortBy(th.dataset.sort));
  }
  $("connect").addEventListener("click", async () => {
    try {
      state.account = await connect();
    } catch (err) {
      $("wallet-status").textContent = err.message;
    }
    showAccount();
  });
  $("rent-prepare").addEventListener("click", review);
  $("rent-send").addEventListener("click", rent);
  $("rent-cancel").addEventListener("click", () => $("rent-dialog").close());
  $("rent-duration").addEventListener("input", () => {
    $("rent-send").disabled = true;
    $("rent-summary").hidden = true;
  });
  window.addEventListener("hashchange", route);
  const eth = wallet();
  if (eth?.on) {
    eth.on("accountsChanged", (accounts) => {
      state.account = accounts[0] ?? null;
      showAccount();
    });
  }
  showAccount();
  route();
  await search();
  showPrices($("chart-model"), $("chart"), $("chart-note"));
  follow();
}

start();
