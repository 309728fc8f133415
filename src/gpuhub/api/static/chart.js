// The asking price per hour of each GPU model as a band (GET /v1/stats/models), and one model's
// band over time (GET /v1/stats/models/{model}/prices): P10-P90 light, P25-P75 darker, the
// median as a line. Wei arrives as decimal strings; numbers are used for pixel positions only,
// every amount shown is formatted exactly from the string.

import { api, ApiError } from "./api.js";
import { formatEth } from "./amounts.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 360;
const ROW = 30;
const LEFT = 110;
// room on the right for the values written beside the bands
const VALUES = 70;
const ALL = "";

function node(tag, attributes = {}, text) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

const wei = (value) => (value === null || value === undefined ? null : Number(BigInt(value)));

/** Fill the model picker and draw the bands of every model; a note says why when the server
 * keeps no statistics (no index: 404; no analytics extra: 501). */
export async function showPrices(picker, chart, note) {
  let page;
  try {
    page = await api("v1/stats/models?window=30d");
  } catch (err) {
    picker.hidden = true;
    chart.replaceChildren();
    note.textContent =
      err instanceof ApiError && (err.status === 404 || err.status === 501)
        ? `No price statistics on this server: ${err.message}`
        : `Price statistics are unavailable: ${err.message}`;
    return;
  }
  const models = page.models.filter((m) => m.ask_median !== null);
  const chosen = picker.value;
  picker.replaceChildren(new Option("Every model, now", ALL));
  for (const m of models) picker.append(new Option(`${m.model}, last 30 days`, m.model));
  picker.value = models.some((m) => m.model === chosen) ? chosen : ALL;
  picker.hidden = models.length === 0;
  picker.onchange = () => draw(picker.value, models, chart, note);
  await draw(picker.value, models, chart, note);
}

async function draw(model, models, chart, note) {
  if (model === ALL) {
    bands(models, chart);
    note.textContent = models.length
      ? "Asking price per hour of the listings available now: P10-P90, P25-P75, median."
      : "No listing is available yet.";
    return;
  }
  if (model === "." || model === "..") {
    // URLs read such a path segment as "this folder" or "the one above" (%2E too), so the
    // model's prices route cannot be named; asking would reach another route.
    chart.replaceChildren();
    note.textContent = `A model named "${model}" has no price history to show here.`;
    return;
  }
  try {
    const history = await api(
      `v1/stats/models/${encodeURIComponent(model)}/prices?by=day&window=30d`,
    );
    overTime(history.periods.filter((p) => p.ask_median !== null), chart);
    note.textContent = `${model}: asking price per hour by day (P10-P90, P25-P75, median).`;
  } catch (err) {
    chart.replaceChildren();
    note.textContent = err.message;
  }
}

/** One row per model: its asking prices' band on a shared axis from 0 to the highest P90, and
 * its median written beside it. */
function bands(models, chart) {
  const height = Math.max(models.length, 1) * ROW + 24;
  const svg = node("svg", {
    viewBox: `0 0 ${WIDTH} ${height}`,
    role: "img",
    "aria-label": "asking price per hour by GPU model",
  });
  const top = Math.max(...models.map((m) => wei(m.ask_p90)), 1);
  const end = WIDTH - VALUES;
  const x = (value) => LEFT + ((end - LEFT) * value) / top;
  models.forEach((m, i) => {
    const y = i * ROW + 6;
    const row = node("g", { class: "band", "data-model": m.model });
    row.append(node("title", {}, `${m.model}: median ${formatEth(m.ask_median)} per hour, ` +
      `P10 ${formatEth(m.ask_p10)}, P90 ${formatEth(m.ask_p90)}, ${m.available} available`));
    row.append(node("text", { x: 0, y: y + 13, class: "axis-label" }, m.model.slice(0, 18)));
    row.append(box(x(wei(m.ask_p10)), x(wei(m.ask_p90)), y, 18, "band-outer"));
    row.append(box(x(wei(m.ask_p25)), x(wei(m.ask_p75)), y + 3, 12, "band-inner"));
    const median = x(wei(m.ask_median));
    row.append(node("line", { x1: median, x2: median, y1: y - 1, y2: y + 19, class: "median" }));
    row.append(node("text", { x: end + 6, y: y + 13, class: "axis-label" }, formatEth(m.ask_median)));
    svg.append(row);
  });
  const axis = models.length * ROW + 10;
  svg.append(node("line", { x1: LEFT, x2: end, y1: axis, y2: axis, class: "axis" }));
  svg.append(node("text", { x: LEFT, y: axis + 12, class: "axis-label" }, "0"));
  svg.append(node("text", { x: end, y: axis + 12, class: "axis-label", "text-anchor": "end" },
    formatEth(BigInt(Math.round(top)).toString())));
  chart.replaceChildren(svg);
}

/** A horizontal band from ``x1`` to ``x2``, at least 4 pixels wide (all prices alike). */
function box(x1, x2, y, height, kind) {
  const width = Math.max(x2 - x1, 4);
  return node("rect", { x: Math.min(x1, x2 - width / 2 + (x2 - x1) / 2), y, width, height, class: kind });
}

/** One model's asking prices by period, left to right: a box per period (P10-P90, P25-P75, the
 * median as a tick), on an axis from 0 to the highest P90. */
function overTime(periods, chart) {
  const height = 150;
  const svg = node("svg", {
    viewBox: `0 0 ${WIDTH} ${height + 24}`,
    role: "img",
    "aria-label": "asking price per hour over time",
  });
  const top = Math.max(...periods.map((p) => wei(p.ask_p90)), 1);
  const left = 10;
  const end = WIDTH - VALUES;
  const step = (end - left) / Math.max(periods.length, 1);
  const width = Math.min(24, step * 0.6);
  const y = (value) => height - (height - 10) * (value / top);
  periods.forEach((p, i) => {
    const middle = left + step * (i + 0.5);
    const column = node("g", { class: "period", "data-period": p.period.slice(0, 10) });
    column.append(node("title", {}, `${p.period.slice(0, 10)}: median ${formatEth(p.ask_median)}` +
      ` per hour, P10 ${formatEth(p.ask_p10)}, P90 ${formatEth(p.ask_p90)}`));
    column.append(upright(middle, width, y(wei(p.ask_p90)), y(wei(p.ask_p10)), "band-outer"));
    column.append(upright(middle, width * 0.6, y(wei(p.ask_p75)), y(wei(p.ask_p25)), "band-inner"));
    const median = y(wei(p.ask_median));
    column.append(node("line", {
      x1: middle - width / 2, x2: middle + width / 2, y1: median, y2: median, class: "median",
    }));
    svg.append(column);
  });
  svg.append(node("line", { x1: left, x2: end, y1: height, y2: height, class: "axis" }));
  if (periods.length) {
    svg.append(node("text", { x: left, y: height + 14, class: "axis-label" },
      periods[0].period.slice(0, 10)));
    svg.append(node("text", { x: end, y: height + 14, class: "axis-label", "text-anchor": "end" },
      periods[periods.length - 1].period.slice(0, 10)));
  }
  svg.append(node("text", { x: end + 6, y: y(top) + 4, class: "axis-label" },
    formatEth(BigInt(Math.round(top)).toString())));
  svg.append(node("text", { x: end + 6, y: height + 4, class: "axis-label" }, "0"));
  chart.replaceChildren(svg);
}

/** A vertical band centred on ``middle`` from ``y1`` (top) to ``y2``, at least 3 pixels tall. */
function upright(middle, width, y1, y2, kind) {
  const height = Math.max(y2 - y1, 3);
  return node("rect", {
    x: middle - width / 2, y: Math.min(y1, (y1 + y2) / 2 - height / 2), width, height, class: kind,
  });
}
