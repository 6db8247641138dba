// The authority dashboard: hazards by town, industry, level and category for
// a period, the trend over months and the period before, grades, a map of
// the enterprises and their open hazards, the best and the worst, the
// overdue list. The API scopes every answer to what the account may see.
import { account, all, get } from "./api.js";
import { mayEnforce } from "./roles.js";
import { timeZone } from "./deployment.js";
import { categoryLabel, categoryLabels } from "./category-label.js";
import { columns, comparison, legend, lines, map, stackedBars } from "./charts.js";
import { t } from "./i18n.js";
import { $, date, daysBetween, errorMessage, fill, gradeBadge, h, hazardLink, labelOf,
         levelBadge, listedTable, message, mountTopbar, timeIn } from "./ui.js";

const GRADE_COLORS = { A: "#2e8540", B: "#7cb342", C: "#f0a30a", D: "#ef6c00", E: "#c62828" };
const NO_GRADE = "#8a96a3";
const STATUS_SERIES = [
  { key: "open", label: t("authority.series.open"), color: "#f0a30a" },
  { key: "rectification_submitted", label: t("authority.series.rectification_submitted"),
    color: "#4f8fbf" },
  { key: "closed", label: t("authority.series.closed"), color: "#2e8540" },
];
const TREND_MONTHS = 12;

mountTopbar("authority");
// campaigns are the authority's acts: other officers are not shown the link
if (!mayEnforce(account())) {
  document.querySelectorAll("#enforcement-links [data-role=enforce]").forEach((link) => {
    link.hidden = true;
  });
}
$("#period").addEventListener("change", load);
load();

function monthsBefore(moment, months) {
  const earlier = new Date(moment);
  earlier.setUTCMonth(earlier.getUTCMonth() - months);
  return earlier;
}

function statistics(query) {
  return get("/api/v1/statistics/hazards", query);
}

// Charts are drawn at the width they are shown at, so their text keeps its size.
function widthOf(box) {
  return Math.max(240, Math.round(box.clientWidth));
}

function section(id) {
  return $(`#${id} .body`);
}

// Each part draws on its own: one failing call leaves the others standing.
async function part(id, draw) {
  try {
    await draw(section(id));
  } catch (err) {
    fill(section(id), errorMessage(err));
  }
}

async function load() {
  const months = Number($("#period").value);
  const now = new Date();
  const from = monthsBefore(now, months);
  const previousFrom = monthsBefore(now, 2 * months);
  const periodLabel = t("authority.period." + months);
  document.querySelectorAll(".period-label").forEach((node) => {
    node.textContent = periodLabel;
  });
  fill($("#status"));
  let enterprises;
  let categories;
  try {
    const zone = await timeZone();
    $("#as-of").textContent = t("authority.as_of", { when: timeIn(now.toISOString(), zone) });
    categories = await categoryLabels();
    // the register pages (200 at most a page): the map needs every enterprise
    enterprises = new Map((await all("/api/v1/enterprises", {}, 100000)).map((e) => [e.id, e]));
  } catch (err) {
    fill($("#status"), errorMessage(err));
    return;
  }
  const period = { from: from.toISOString(), to: now.toISOString() };
  const openNow = statistics({ group_by: "enterprise" });
  const ranking = get("/api/v1/rankings", { limit: 100 });
  await Promise.all([
    drawKpis(enterprises, period, openNow, periodLabel),
    part("by-town", async (box) => drawGroups(box, enterprises, period, "town")),
    part("by-industry", async (box) => drawGroups(box, enterprises, period, "industry")),
    part("by-level", async (box) => drawKeys(box, { ...period, group_by: "level" },
                                             (key) => labelOf("common.level", key))),
    part("by-category", async (box) => drawKeys(box, { ...period, group_by: "category" },
                                                (key) => categoryLabel(categories, key))),
    part("trend", drawTrend),
    part("comparison", async (box) => drawComparison(box, previousFrom, from, now, months)),
    part("grades", drawGrades),
    part("grades-by-town", drawGradesByTown),
    part("map", async (box) => drawMap(box, enterprises, await openNow, await ranking)),
    part("excellent", async (box) => drawRanking(box, await get("/api/v1/rankings/excellent",
                                                                 { limit: 10 }), enterprises,
                                                 t("authority.no_excellent"))),
    part("worst", async (box) => drawRanking(box, await get("/api/v1/rankings",
                                                             { order: "worst", limit: 10 }),
                                             enterprises, t("authority.no_grade"))),
    part("overdue", async (box) => drawOverdue(box, enterprises, categories)),
    part("listed", async (box) => drawListed(box, enterprises, categories)),
  ]);
}

function enterpriseLink(id, enterprises) {
  const enterprise = enterprises.get(id);
  return h("a", { href: "/app/enterprise.html?enterprise=" + encodeURIComponent(id) },
           enterprise ? enterprise.name : id);
}

async function drawKpis(enterprises, period, openNow, periodLabel) {
  const box = $("#kpis");
  try {
    const [found, all, majorOpen] = await Promise.all([
      statistics({ ...period, group_by: "level" }), openNow,
      statistics({ group_by: "level", status: "open", level: "major" })]);
    const rectified = found.totals.total
      ? Math.round(100 * (found.totals.rectification_submitted + found.totals.closed)
                   / found.totals.total) + "%" : "–";
    const tile = (key, label, value, alert) =>
      h("div", { class: "tile" + (alert && Number(value) ? " alert" : ""),
                 dataset: { kpi: key } },
        h("div", { class: "value" }, String(value)), h("div", { class: "label" }, label));
    fill(box,
      tile("enterprises", t("authority.kpi.enterprises"), enterprises.size),
      tile("found", t("authority.kpi.found", { period: periodLabel }), found.totals.total),
      tile("rectified", t("authority.kpi.rectified"), rectified),
      tile("open", t("authority.kpi.open"), all.totals.open),
      tile("overdue", t("authority.kpi.overdue"), all.totals.overdue_open, true),
      tile("major-open", t("authority.kpi.major_open"), majorOpen.totals.total, true));
  } catch (err) {
    fill(box, errorMessage(err));
  }
}

// Hazards of the period per town or industry: the statistics per enterprise,
// joined with the register.
async function drawGroups(box, enterprises, period, attribute) {
  const perEnterprise = await statistics({ ...period, group_by: "enterprise" });
  const groups = new Map();
  for (const group of perEnterprise.groups) {
    const enterprise = enterprises.get(group.key);
    const name = enterprise ? enterprise[attribute] : t("authority.not_registered");
    const sum = groups.get(name) || { open: 0, rectification_submitted: 0, closed: 0,
                                      overdue_open: 0, total: 0 };
    for (const key of Object.keys(sum)) sum[key] += group[key];
    groups.set(name, sum);
  }
  const rows = [...groups].sort((a, b) => b[1].total - a[1].total || a[0].localeCompare(b[0]))
    .map(([label, sum]) => ({ label, segments: sum,
                              note: sum.overdue_open
                                ? t("authority.overdue_note_n", { n: sum.overdue_open }) : "" }));
  fill(box, stackedBars(rows, STATUS_SERIES, { title: t("authority.chart.by_" + attribute),
                                               width: widthOf(box) }));
}

// Groups the statistics name by a key (a level, a category), each shown by `label(key)`.
async function drawKeys(box, query, label) {
  const result = await statistics(query);
  const rows = [...result.groups].sort((a, b) => b.total - a.total)
    .map((group) => ({ key: group.key, label: label(group.key), segments: group,
                       note: group.overdue_open
                         ? t("authority.overdue_note_n", { n: group.overdue_open }) : "" }));
  fill(box, stackedBars(rows, STATUS_SERIES, { title: t("authority.chart.by_" + query.group_by),
                                               width: widthOf(box) }));
}

function monthKeys(now, count) {
  const keys = [];
  for (let back = count - 1; back >= 0; back -= 1) {
    const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1));
    keys.push(month.toISOString().slice(0, 7));
  }
  return keys;
}

async function drawTrend(box) {
  const now = new Date();
  const keys = monthKeys(now, TREND_MONTHS);
  const result = await statistics({ group_by: "month", from: keys[0] + "-01T00:00:00Z",
                                    to: now.toISOString() });
  const byMonth = new Map(result.groups.map((group) => [group.key, group]));
  const values = (name) => keys.map((key) => (byMonth.get(key) || {})[name] || 0);
  fill(box, lines(keys, [
    { key: "found", label: t("authority.trend.found"), color: "#0d6e6e",
      values: values("total") },
    { key: "major", label: t("authority.trend.major"), color: "#c62828",
      values: values("major") },
    { key: "still open", label: t("authority.trend.open"), color: "#f0a30a",
      values: values("open") },
  ], { title: t("authority.chart.trend"), width: widthOf(box) }));
}

async function drawComparison(box, previousFrom, from, now, months) {
  const [previous, current] = await Promise.all([
    statistics({ group_by: "level", from: previousFrom.toISOString(),
                 to: new Date(from.getTime() - 1).toISOString() }),
    statistics({ group_by: "level", from: from.toISOString(), to: now.toISOString() })]);
  const metric = (label, key) => ({ label, previous: previous.totals[key],
                                    current: current.totals[key] });
  fill(box, comparison([
    metric(t("authority.metric.found"), "total"), metric(t("authority.metric.major"), "major"),
    metric(t("authority.metric.overdue"), "overdue"),
    metric(t("authority.metric.closed"), "closed"), metric(t("authority.metric.open"), "open"),
  ], { previousLabel: t("authority.previous_period." + months),
       currentLabel: t("authority.current_period." + months),
       title: t("authority.chart.comparison"), width: widthOf(box) }),
  h("small", {}, t("authority.comparison_dates", {
    from_before: date(previousFrom.toISOString()), to_before: date(from.toISOString()),
    from: date(from.toISOString()), to: date(now.toISOString()) })));
}

async function drawGrades(box) {
  const distribution = await get("/api/v1/grades/distribution");
  fill(box, columns(distribution.grades.map((grade) => ({
    label: grade, value: distribution.counts[grade], color: GRADE_COLORS[grade] || NO_GRADE,
  })), { title: t("authority.chart.grades"), width: widthOf(box) }),
  h("small", {}, t("authority.graded", { n: distribution.total })));
}

async function drawGradesByTown(box) {
  const distribution = await get("/api/v1/grades/distribution", { by: "town" });
  const series = distribution.grades.map((grade) => ({
    key: grade, label: t("common.grade", { grade }), color: GRADE_COLORS[grade] || NO_GRADE }));
  fill(box, stackedBars(distribution.groups.map((group) => ({
    label: group.town || t("authority.town_not_known"), segments: group.counts })), series,
  { title: t("authority.chart.grades_by_town"), width: widthOf(box) }));
}

function drawMap(box, enterprises, openNow, ranking) {
  const hazards = new Map(openNow.groups.map((group) => [group.key, group]));
  const grades = new Map(ranking.items.map((entry) => [entry.enterprise_id, entry]));
  const points = [...enterprises.values()].map((e) => {
    const counts = hazards.get(e.id) || { open: 0, overdue_open: 0 };
    const graded = grades.get(e.id);
    return {
      id: e.id, name: e.name, town: e.town, lat: e.latitude, lon: e.longitude,
      color: graded ? GRADE_COLORS[graded.grade] || NO_GRADE : NO_GRADE,
      radius: 6 + 3 * Math.sqrt(counts.open),
      ring: counts.overdue_open > 0,
      title: t("authority.map_point", {
        name: e.name, town: e.town,
        grade: graded ? t("authority.map_grade", { grade: graded.grade, points: graded.points })
                      : t("authority.map_no_grade"),
        open: counts.open, overdue: counts.overdue_open }),
      href: "/app/enterprise.html?enterprise=" + encodeURIComponent(e.id),
    };
  });
  fill(box, map(points, { title: t("authority.chart.map"), width: widthOf(box) }),
       legend([...Object.entries(GRADE_COLORS).map(([grade, color]) => ({
         label: t("common.grade", { grade }), color })),
       { label: t("authority.map_no_grade"), color: NO_GRADE }]));
}

function drawRanking(box, answer, enterprises, none) {
  if (!answer.items.length) {
    fill(box, message("info", none));
    return;
  }
  fill(box, h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, h("th", { class: "num" }, "#"),
                     h("th", {}, t("authority.col.enterprise")),
                     h("th", {}, t("authority.col.town")), h("th", {}, t("authority.col.industry")),
                     h("th", { class: "num" }, t("authority.col.points")),
                     h("th", {}, t("authority.col.grade")))),
    h("tbody", {}, answer.items.map((entry) => h("tr", { dataset: { enterpriseId:
                                                                    entry.enterprise_id } },
      h("td", { class: "num" }, String(entry.rank)),
      h("td", {}, enterpriseLink(entry.enterprise_id, enterprises)),
      h("td", {}, entry.town || ""), h("td", {}, entry.industry || ""),
      h("td", { class: "num" }, entry.points), h("td", {}, gradeBadge(entry.grade))))))));
}

// Listed supervision: what the authority lists, within the account's
// scope (a grid officer sees its grid's), nearest listing deadline first.
async function drawListed(box, enterprises, categories) {
  const [listed, zone] = await Promise.all([
    get("/api/v1/hazards", { listed: "true", sort: "listing_deadline", size: 50 }), timeZone()]);
  const shown = { ...listed, items: listed.items.map((hazard) => (
    { ...hazard, category: categoryLabel(categories, hazard.category) })) };
  fill(box, listedTable(shown, (hazard) => {
    const enterprise = enterprises.get(hazard.enterprise_id);
    return [h("td", {}, enterpriseLink(hazard.enterprise_id, enterprises)),
            h("td", {}, enterprise ? enterprise.town : "")];
  }, [t("authority.col.enterprise"), t("authority.col.town")], zone));
}

async function drawOverdue(box, enterprises, categories) {
  const overdue = await get("/api/v1/hazards", { status: "open", overdue: "true",
                                                 sort: "rectification_deadline", size: 50 });
  if (!overdue.items.length) {
    fill(box, message("ok", t("authority.no_overdue")));
    return;
  }
  const now = Date.now();
  fill(box, h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, ["enterprise", "town", "level", "category", "description",
                                "deadline", "days_over"].map((name) =>
      h("th", { class: name === "days_over" ? "num" : null }, t("authority.col." + name))))),
    h("tbody", {}, overdue.items.map((hazard) => {
      const enterprise = enterprises.get(hazard.enterprise_id);
      return h("tr", { dataset: { hazardId: hazard.id } },
        h("td", {}, enterpriseLink(hazard.enterprise_id, enterprises)),
        h("td", {}, enterprise ? enterprise.town : ""),
        h("td", {}, levelBadge(hazard.level)),
        h("td", {}, categoryLabel(categories, hazard.category)),
        h("td", {}, hazardLink(hazard)),
        h("td", {}, date(hazard.rectification_deadline)),
        h("td", { class: "num" }, String(daysBetween(Date.parse(hazard.rectification_deadline),
                                                     now))));
    })))),
  overdue.total > overdue.items.length
    ? h("small", {}, t("authority.overdue_more", { shown: overdue.items.length,
                                                   total: overdue.total })) : null);
}
