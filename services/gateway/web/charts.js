// Charts and the map, drawn as SVG from the data: no chart library, no map tiles.
import { language, t } from "./i18n.js";
import { h } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";

function s(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function tip(text) {
  return s("title", {}, text);
}

function svgRoot(width, height, label) {
  return s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label,
                    preserveAspectRatio: "xMidYMid meet" });
}

function shorten(text, max) {
  text = String(text ?? "");
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

// `text` cut to about `pixels` wide at 12 px: a wide (CJK) character about 12,
// another about 7 (a bar's label stays left of its bar on a phone too).
function fitted(text, pixels) {
  text = String(text ?? "");
  const widthOf = (ch) => (/[\u2e80-\u9fff\uac00-\ud7af\uff00-\uffef]/.test(ch) ? 12 : 7);
  let used = 0;
  for (let index = 0; index < text.length; index += 1) {
    used += widthOf(text[index]);
    if (used > pixels) return text.slice(0, Math.max(index - 1, 1)) + "…";
  }
  return text;
}

// A round step for about `count` ticks up to `max`.
function niceStep(max, count = 4) {
  const raw = Math.max(max, 1) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((m) => m >= raw);
  return Math.max(1, step);
}

export function legend(series) {
  return h("div", { class: "legend" },
    series.map((item) => h("span", { style: `--swatch:${item.color}` }, item.label)));
}

function figure(kind, svg, series) {
  return h("figure", { class: "chart " + kind }, svg,
           series ? legend(series) : null);
}

function empty(text) {
  return h("p", { class: "muted empty" }, text || t("charts.nothing"));
}

// Horizontal stacked bars, one row per group: rows [{label, segments: {key: n},
// note, href}], series [{key, label, color}].
export function stackedBars(rows, series, { title = t("charts.chart"), width = 560 } = {}) {
  if (!rows.length) return empty();
  const labelWidth = Math.min(150, width * 0.3);
  const valueWidth = 120;
  const rowHeight = 28;
  const height = rows.length * rowHeight + 8;
  const max = Math.max(1, ...rows.map((row) =>
    series.reduce((sum, item) => sum + (row.segments[item.key] || 0), 0)));
  const scale = (width - labelWidth - valueWidth) / max;
  const svg = svgRoot(width, height, title);
  rows.forEach((row, index) => {
    const y = 4 + index * rowHeight;
    const label = s("text", { x: labelWidth - 8, y: y + rowHeight / 2 + 4,
                              "text-anchor": "end", "font-size": 12 },
                      fitted(row.label, labelWidth - 10));
    svg.appendChild(row.href ? s("a", { href: row.href }, label) : label);
    let x = labelWidth;
    let total = 0;
    const group = s("g", { class: "bar-row", "data-label": row.label,
                           "data-key": row.key ?? row.label });
    for (const item of series) {
      const value = row.segments[item.key] || 0;
      total += value;
      if (!value) continue;
      const barWidth = value * scale;
      group.appendChild(s("rect", { x, y: y + 4, width: Math.max(barWidth, 1.5),
                                    height: rowHeight - 10, rx: 3, fill: item.color,
                                    class: "segment", "data-key": item.key },
                          tip(`${row.label} — ${item.label}: ${value}`)));
      x += barWidth;
    }
    svg.appendChild(group);
    svg.appendChild(s("text", { x: x + 6, y: y + rowHeight / 2 + 4, "font-size": 12,
                                "font-weight": 600 },
                      String(total) + (row.note ? "  " + row.note : "")));
  });
  return figure("stacked", svg, series);
}

// Vertical columns: bars [{label, value, color}].
export function columns(bars, { title = t("charts.chart"), width = 360, height = 200 } = {}) {
  const top = 18;
  const bottom = 26;
  const max = Math.max(1, ...bars.map((bar) => bar.value));
  const slot = width / Math.max(bars.length, 1);
  const svg = svgRoot(width, height, title);
  const plot = height - top - bottom;
  svg.appendChild(s("line", { x1: 0, x2: width, y1: height - bottom, y2: height - bottom,
                              stroke: "#c5ced8" }));
  bars.forEach((bar, index) => {
    const barHeight = (bar.value / max) * plot;
    const x = index * slot + slot * 0.2;
    const y = height - bottom - barHeight;
    svg.appendChild(s("rect", { x, y, width: slot * 0.6, height: Math.max(barHeight, 0.5),
                                rx: 4, fill: bar.color, class: "column",
                                "data-label": bar.label, "data-value": bar.value },
                      tip(`${bar.label}: ${bar.value}`)));
    svg.appendChild(s("text", { x: x + slot * 0.3, y: y - 4, "text-anchor": "middle",
                                "font-size": 12, "font-weight": 600 }, String(bar.value)));
    svg.appendChild(s("text", { x: x + slot * 0.3, y: height - 8, "text-anchor": "middle",
                                "font-size": 12 }, shorten(bar.label, 12)));
  });
  return figure("columns", svg);
}

// "YYYY-MM" as the reader's language writes a month, short.
function monthLabel(key) {
  const [year, month] = key.split("-").map(Number);
  return new Intl.DateTimeFormat(language() === "zh" ? "zh-CN" : "en-GB",
                                 { year: "2-digit", month: "short", timeZone: "UTC" })
    .format(new Date(Date.UTC(year, month - 1, 1)));
}

// Lines over months: labels ["YYYY-MM"...], series [{label, color, values}].
export function lines(labels, series, { title = t("charts.chart"), width = 560,
                                        height = 230 } = {}) {
  const left = 36;
  const right = 24;
  const top = 12;
  const bottom = 28;
  const max = Math.max(1, ...series.flatMap((line) => line.values));
  const step = niceStep(max);
  const ceiling = Math.ceil(max / step) * step;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const x = (index) => left + (labels.length > 1 ? index * plotWidth / (labels.length - 1)
                                                 : plotWidth / 2);
  const y = (value) => top + plotHeight - (value / ceiling) * plotHeight;
  const svg = svgRoot(width, height, title);
  for (let tick = 0; tick <= ceiling; tick += step) {
    svg.appendChild(s("line", { x1: left, x2: width - right, y1: y(tick), y2: y(tick),
                                stroke: tick ? "#e3e8ee" : "#c5ced8" }));
    svg.appendChild(s("text", { x: left - 6, y: y(tick) + 4, "text-anchor": "end",
                                "font-size": 11, fill: "#5d6b7a" }, String(tick)));
  }
  // a month's label is about 56 px wide: as many as fit, counted back from the last month
  const every = Math.ceil(labels.length / Math.max(2, Math.min(8, Math.floor(plotWidth / 56))));
  labels.forEach((label, index) => {
    if ((labels.length - 1 - index) % every === 0) {
      svg.appendChild(s("text", { x: x(index), y: height - 8, "text-anchor": "middle",
                                  "font-size": 11 }, monthLabel(label)));
    }
  });
  for (const line of series) {
    const points = line.values.map((value, index) => `${x(index)},${y(value)}`).join(" ");
    svg.appendChild(s("polyline", { points, fill: "none", stroke: line.color,
                                    "stroke-width": 2.5, "stroke-linejoin": "round",
                                    class: "series", "data-series": line.key ?? line.label }));
    line.values.forEach((value, index) => {
      svg.appendChild(s("circle", { cx: x(index), cy: y(value), r: 3.5, fill: line.color },
                        tip(`${monthLabel(labels[index])} — ${line.label}: ${value}`)));
    });
  }
  return figure("lines", svg, series);
}

// This period beside the previous one: metrics [{label, previous, current}].
export function comparison(metrics, { previousLabel, currentLabel, title = t("charts.chart"),
                                      width = 560 } = {}) {
  const labelWidth = Math.min(160, width * 0.3);
  const changeWidth = 70;
  const pairHeight = 44;
  const height = metrics.length * pairHeight + 8;
  const max = Math.max(1, ...metrics.flatMap((m) => [m.previous, m.current]));
  const scale = (width - labelWidth - changeWidth - 30) / max;
  const svg = svgRoot(width, height, title);
  const colors = { previous: "#a7b4c2", current: "#0d6e6e" };
  metrics.forEach((metric, index) => {
    const y = 4 + index * pairHeight;
    svg.appendChild(s("text", { x: labelWidth - 8, y: y + pairHeight / 2 + 2,
                                "text-anchor": "end", "font-size": 12 },
                      fitted(metric.label, labelWidth - 10)));
    ["previous", "current"].forEach((which, row) => {
      const value = metric[which];
      const top = y + 3 + row * 18;
      svg.appendChild(s("rect", { x: labelWidth, y: top, height: 14, rx: 3,
                                  width: Math.max(value * scale, 1.5), fill: colors[which],
                                  class: "pair-" + which },
                        tip(`${metric.label}, ${which === "current" ? currentLabel
                                                                    : previousLabel}: ${value}`)));
      svg.appendChild(s("text", { x: labelWidth + value * scale + 5, y: top + 11,
                                  "font-size": 11 }, String(value)));
    });
    const change = metric.previous ? Math.round((metric.current - metric.previous) * 100
                                                / metric.previous) : null;
    svg.appendChild(s("text", { x: width - 4, y: y + pairHeight / 2 + 2, "text-anchor": "end",
                                "font-size": 12, "font-weight": 700, class: "change",
                                fill: change > 0 ? "#c62828" : change < 0 ? "#2e8540"
                                                                          : "#5d6b7a" },
                      change === null ? (metric.current ? t("charts.new") : "–")
                                      : (change > 0 ? "+" : "") + change + "%"));
  });
  return figure("comparison", svg, [{ label: previousLabel, color: colors.previous },
                                    { label: currentLabel, color: colors.current }]);
}

// The map: enterprises placed by latitude / longitude (equirectangular,
// corrected by the cosine of the mean latitude), a circle each, coloured and
// sized by the caller; towns as dashed rings around their enterprises; a
// graticule and a scale bar for orientation. points [{id, name, lat, lon,
// color, radius, title, href, town, ring}].
export function map(points, { title = t("charts.map"), width = 640 } = {}) {
  const placed = points.filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lon));
  if (!placed.length) return empty(t("charts.no_location"));
  const lats = placed.map((p) => p.lat);
  const lons = placed.map((p) => p.lon);
  const midLat = (Math.min(...lats) + Math.max(...lats)) / 2;
  const stretch = Math.cos(midLat * Math.PI / 180);
  const spanLat = Math.max(Math.max(...lats) - Math.min(...lats), 0.02);
  const spanLon = Math.max((Math.max(...lons) - Math.min(...lons)) * stretch, 0.02);
  const pad = 72;
  const scale = Math.min((width - 2 * pad) / spanLon, 520 / spanLat);
  const height = Math.max(260, Math.round(spanLat * scale + 2 * pad));
  const centreLon = (Math.min(...lons) + Math.max(...lons)) / 2;
  const project = (lat, lon) => [width / 2 + (lon - centreLon) * stretch * scale,
                                 height / 2 - (lat - midLat) * scale];
  const svg = svgRoot(width, height, title);
  svg.appendChild(s("rect", { x: 0, y: 0, width, height, fill: "#eef4f6" }));

  // graticule every round fraction of a degree
  const degreesAcross = width / scale / stretch;
  const graticule = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1].find((d) => degreesAcross / d <= 8) || 1;
  const decimals = graticule < 0.1 ? 2 : 1;
  const west = centreLon - width / 2 / scale / stretch;
  for (let lon = Math.ceil(west / graticule) * graticule; project(midLat, lon)[0] < width;
       lon += graticule) {
    const [gx] = project(midLat, lon);
    svg.appendChild(s("line", { x1: gx, x2: gx, y1: 0, y2: height, stroke: "#d6e2e7" }));
    svg.appendChild(s("text", { x: gx + 3, y: height - 4, "font-size": 10, fill: "#7b8a99" },
                              lon.toFixed(decimals) + "°E"));
  }
  const south = midLat - height / 2 / scale;
  for (let lat = Math.ceil(south / graticule) * graticule; project(lat, centreLon)[1] > 0;
       lat += graticule) {
    const [, gy] = project(lat, centreLon);
    if (gy < 14) continue;                  // no room for its label at the top edge
    svg.appendChild(s("line", { x1: 0, x2: width, y1: gy, y2: gy, stroke: "#d6e2e7" }));
    svg.appendChild(s("text", { x: 4, y: gy - 3, "font-size": 10, fill: "#7b8a99" },
                              lat.toFixed(decimals) + "°N"));
  }

  const taken = [];          // label boxes placed so far
  // towns: a dashed ring around each town's enterprises
  const towns = new Map();
  for (const point of placed) {
    if (!point.town) continue;
    if (!towns.has(point.town)) towns.set(point.town, []);
    towns.get(point.town).push(project(point.lat, point.lon));
  }
  for (const [town, spots] of towns) {
    const cx = spots.reduce((sum, [px]) => sum + px, 0) / spots.length;
    const cy = spots.reduce((sum, [, py]) => sum + py, 0) / spots.length;
    const radius = 26 + Math.max(...spots.map(([px, py]) => Math.hypot(px - cx, py - cy)));
    svg.appendChild(s("circle", { cx, cy, r: radius, fill: "rgba(13,110,110,0.05)",
                                  stroke: "#7fb2b2", "stroke-dasharray": "5 4",
                                  class: "town", "data-town": town }));
    svg.appendChild(s("text", { x: cx, y: cy - radius - 5, "text-anchor": "middle",
                                "font-size": 12, "font-weight": 700, fill: "#2f6f6f" }, town));
    taken.push({ x: cx - town.length * 3.6, y: cy - radius - 17, w: town.length * 7.2, h: 14 });
  }

  // enterprises, the largest first so small circles stay clickable on top;
  // a label goes right of its circle, else left, else a line up or down,
  // wherever it overlaps no other label and stays inside the map
  const fits = (box) => box.x >= 0 && box.x + box.w <= width && box.y >= 0 &&
    box.y + box.h <= height && !taken.some((other) => box.x < other.x + other.w &&
      other.x < box.x + box.w && box.y < other.y + other.h && other.y < box.y + box.h);
  const labelled = placed.length <= 40;
  for (const point of [...placed].sort((a, b) => b.radius - a.radius)) {
    const [px, py] = project(point.lat, point.lon);
    let text = null;
    if (labelled) {
      const name = shorten(point.name, 26);
      const w = name.length * 6.2;
      const gap = point.radius + 4;
      const spot = [[gap, 0], [-gap - w, 0], [gap, 14], [gap, -14], [-gap - w, 14],
                    [-gap - w, -14]]
        .map(([dx, dy]) => ({ x: px + dx, y: py + dy - 9, w, h: 13 })).find(fits);
      if (spot) {
        taken.push(spot);
        text = s("text", { x: spot.x, y: spot.y + 10, "font-size": 11 }, name);
      }
    }
    const marker = s("g", { class: "enterprise", "data-enterprise": point.id },
      tip(point.title || point.name),
      point.ring ? s("circle", { cx: px, cy: py, r: point.radius + 4, fill: "none",
                                 stroke: "#c62828", "stroke-width": 2.5, class: "ring" })
                 : null,
      s("circle", { cx: px, cy: py, r: point.radius, fill: point.color, stroke: "#fff",
                    "stroke-width": 1.5, "fill-opacity": 0.9 }),
      text);
    svg.appendChild(point.href ? s("a", { href: point.href }, marker) : marker);
  }

  // scale bar: a round number of kilometres, about a fifth of the width
  const kmPerPixel = 111.32 / scale;
  const target = width / 5 * kmPerPixel;
  const km = [0.5, 1, 2, 5, 10, 20, 50, 100].find((k) => k >= target * 0.6) || 100;
  const barLength = km / kmPerPixel;
  svg.appendChild(s("g", { class: "scale" },
    s("line", { x1: width - 16 - barLength, x2: width - 16, y1: height - 22, y2: height - 22,
                stroke: "#33414f", "stroke-width": 3 }),
    s("text", { x: width - 16 - barLength / 2, y: height - 28, "text-anchor": "middle",
                "font-size": 11 }, t("charts.km", { km }))));
  return h("div", { class: "map" }, svg);
}
