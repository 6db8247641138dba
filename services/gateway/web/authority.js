// The authority dashboard: hazards by town, industry, level and category for
// a period, the trend over months and the period before, grades, a map of
// the enterprises and their open hazards, the best and the worst, the
// overdue list. The API scopes every answer to what the account may see.
import { account, all, get } from "./api.js";
import { mayEnforce } from "./roles.js";
import { timeZone } from "./deployment.js";
import { columns, comparison, legend, lines, map, stackedBars } from "./charts.js";
import { $, date, daysBetween, errorMessage, fill, gradeBadge, h, hazardLink, levelBadge,
         listedTable,
         message, mountTopbar } from "./ui.js";

const GRADE_COLORS = { A: "#2e8540", B: "#7cb342", C: "#f0a30a", D: "#ef6c00", E: "#c62828" };
const NO_GRADE = "#8a96a3";
const STATUS_SERIES = [
  { key: "open", label: "open", color: "#f0a30a" },
  { key: "rectification_submitted", label: "awaiting verification", color: "#4f8fbf" },
  { key: "closed", label: "closed", color: "#2e8540" },
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
  return Math.max(300, Math.round(box.clientWidth));
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
  const periodLabel = months === 1 ? "last month" : `last ${months} months`;
  document.querySelectorAll(".period-label").forEach((node) => {
    node.textContent = periodLabel;
  });
  $("#as-of").textContent = `as of ${now.toLocaleString()}`;
  fill($("#status"));
  let enterprises;
  try {
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
    part("by-level", async (box) => drawKeys(box, { ...period, group_by: "level" })),
    part("by-category", async (box) => drawKeys(box, { ...period, group_by: "category" })),
    part("trend", drawTrend),
    part("comparison", async (box) => drawComparison(box, previousFrom, from, now, periodLabel)),
    part("grades", drawGrades),
    part("grades-by-town", drawGradesByTown),
    part("map", async (box) => drawMap(box, enterprises, await openNow, await ranking)),
    part("excellent", async (box) => drawRanking(box, await get("/api/v1/rankings/excellent",
                                                                 { limit: 10 }), enterprises,
                                                 "No enterprise holds grade A.")),
    part("worst", async (box) => drawRanking(box, await get("/api/v1/rankings",
                                                             { order: "worst", limit: 10 }),
                                             enterprises, "No enterprise has a grade yet.")),
    part("overdue", async (box) => drawOverdue(box, enterprises)),
    part("listed", async (box) => drawListed(box, enterprises)),
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
      tile("enterprises", "enterprises", enterprises.size),
      tile("found", `hazards found, ${periodLabel}`, found.totals.total),
      tile("rectified", `of them rectified`, rectified),
      tile("open", "open now", all.totals.open),
      tile("overdue", "overdue now", all.totals.overdue_open, true),
      tile("major-open", "major, open now", majorOpen.totals.total, true));
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
    const name = enterprise ? enterprise[attribute] : "(not registered)";
    const sum = groups.get(name) || { open: 0, rectification_submitted: 0, closed: 0,
                                      overdue_open: 0, total: 0 };
    for (const key of Object.keys(sum)) sum[key] += group[key];
    groups.set(name, sum);
  }
  const rows = [...groups].sort((a, b) => b[1].total - a[1].total || a[0].localeCompare(b[0]))
    .map(([label, sum]) => ({ label, segments: sum,
                              note: sum.overdue_open
                                ? `(${sum.overdue_open} overdue)` : "" }));
  fill(box, stackedBars(rows, STATUS_SERIES, { title: "hazards by " + attribute,
                                               width: widthOf(box) }));
}

async function drawKeys(box, query) {
  const result = await statistics(query);
  const rows = [...result.groups].sort((a, b) => b.total - a.total)
    .map((group) => ({ label: group.key, segments: group,
                       note: group.overdue_open
                         ? `(${group.overdue_open} overdue)` : "" }));
  fill(box, stackedBars(rows, STATUS_SERIES, { title: "hazards by " + query.group_by,
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
    { label: "found", color: "#0d6e6e", values: values("total") },
    { label: "major", color: "#c62828", values: values("major") },
    { label: "still open", color: "#f0a30a", values: values("open") },
  ], { title: "hazards found per month", width: widthOf(box) }));
}

async function drawComparison(box, previousFrom, from, now, periodLabel) {
  const [previous, current] = await Promise.all([
    statistics({ group_by: "level", from: previousFrom.toISOString(),
                 to: new Date(from.getTime() - 1).toISOString() }),
    statistics({ group_by: "level", from: from.toISOString(), to: now.toISOString() })]);
  const metric = (label, key) => ({ label, previous: previous.totals[key],
                                    current: current.totals[key] });
  fill(box, comparison([
    metric("hazards found", "total"), metric("major", "major"),
    metric("became overdue", "overdue"), metric("closed", "closed"),
    metric("still open", "open"),
  ], { previousLabel: `the ${periodLabel.replace("last", "previous")}`,
       currentLabel: `the ${periodLabel}`, title: "this period against the previous one",
       width: widthOf(box) }),
  h("small", {}, `${date(previousFrom.toISOString())} – ${date(from.toISOString())} against ` +
                 `${date(from.toISOString())} – ${date(now.toISOString())}, by date found`));
}

async function drawGrades(box) {
  const distribution = await get("/api/v1/grades/distribution");
  fill(box, columns(distribution.grades.map((grade) => ({
    label: grade, value: distribution.counts[grade], color: GRADE_COLORS[grade] || NO_GRADE,
  })), { title: "enterprises per grade", width: widthOf(box) }),
  h("small", {}, `${distribution.total} enterprises graded`));
}

async function drawGradesByTown(box) {
  const distribution = await get("/api/v1/grades/distribution", { by: "town" });
  const series = distribution.grades.map((grade) => ({
    key: grade, label: "grade " + grade, color: GRADE_COLORS[grade] || NO_GRADE }));
  fill(box, stackedBars(distribution.groups.map((group) => ({
    label: group.town || "(not yet known)", segments: group.counts })), series,
  { title: "grades by town", width: widthOf(box) }));
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
      title: `${e.name} (${e.town}) — ${graded ? "grade " + graded.grade + ", " + graded.points
                                              + " points" : "no grade yet"}; ` +
             `${counts.open} open, ${counts.overdue_open} overdue`,
      href: "/app/enterprise.html?enterprise=" + encodeURIComponent(e.id),
    };
  });
  fill(box, map(points, { title: "map of enterprises", width: widthOf(box) }),
       legend([...Object.entries(GRADE_COLORS).map(([grade, color]) => ({
         label: "grade " + grade, color })), { label: "no grade", color: NO_GRADE }]));
}

function drawRanking(box, answer, enterprises, none) {
  if (!answer.items.length) {
    fill(box, message("info", none));
    return;
  }
  fill(box, h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, h("th", { class: "num" }, "#"), h("th", {}, "Enterprise"),
                     h("th", {}, "Town"), h("th", {}, "Industry"),
                     h("th", { class: "num" }, "Points"), h("th", {}, "Grade"))),
    h("tbody", {}, answer.items.map((entry) => h("tr", { dataset: { enterpriseId:
                                                                    entry.enterprise_id } },
      h("td", { class: "num" }, String(entry.rank)),
      h("td", {}, enterpriseLink(entry.enterprise_id, enterprises)),
      h("td", {}, entry.town || ""), h("td", {}, entry.industry || ""),
      h("td", { class: "num" }, entry.points), h("td", {}, gradeBadge(entry.grade))))))));
}

// Listed supervision (挂牌督办): what the authority lists, within the account's
// scope (a grid officer sees its grid's), nearest listing deadline first.
async function drawListed(box, enterprises) {
  const [listed, zone] = await Promise.all([
    get("/api/v1/hazards", { listed: "true", sort: "listing_deadline", size: 50 }), timeZone()]);
  fill(box, listedTable(listed, (hazard) => {
    const enterprise = enterprises.get(hazard.enterprise_id);
    return [h("td", {}, enterpriseLink(hazard.enterprise_id, enterprises)),
            h("td", {}, enterprise ? enterprise.town : "")];
  }, ["企业 Enterprise", "镇街 Town"], zone));
}

async function drawOverdue(box, enterprises) {
  const overdue = await get("/api/v1/hazards", { status: "open", overdue: "true",
                                                 sort: "rectification_deadline", size: 50 });
  if (!overdue.items.length) {
    fill(box, message("ok", "No open hazard is past its deadline."));
    return;
  }
  const now = Date.now();
  fill(box, h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, ["Enterprise", "Town", "Level", "Category", "Description",
                                "Deadline", "Days over"].map((title) =>
      h("th", { class: title === "Days over" ? "num" : null }, title)))),
    h("tbody", {}, overdue.items.map((hazard) => {
      const enterprise = enterprises.get(hazard.enterprise_id);
      return h("tr", { dataset: { hazardId: hazard.id } },
        h("td", {}, enterpriseLink(hazard.enterprise_id, enterprises)),
        h("td", {}, enterprise ? enterprise.town : ""),
        h("td", {}, levelBadge(hazard.level)),
        h("td", {}, hazard.category),
        h("td", {}, hazardLink(hazard)),
        h("td", {}, date(hazard.rectification_deadline)),
        h("td", { class: "num" }, String(daysBetween(Date.parse(hazard.rectification_deadline),
                                                     now))));
    })))),
  overdue.total > overdue.items.length
    ? h("small", {}, `the ${overdue.items.length} longest overdue of ${overdue.total}`) : null);
}
