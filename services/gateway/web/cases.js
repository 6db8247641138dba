// The cases the account may see (an enterprise's accounts: their own), with
// filters by status and campaign: enterprise, status, the fines.
import { account, all, get } from "./api.js";
import { t } from "./i18n.js";
import { $, amount, errorMessage, fill, h, message, mountTopbar, timeIn } from "./ui.js";
import { timeZone } from "./deployment.js";
import { mayEnforce } from "./roles.js";
import { caseStatus } from "./enforcement.js";
const PAGE_SIZE = 20;
const params = new URLSearchParams(location.search);
let page = 1;
let enterprises = new Map();
let zone = "Asia/Shanghai";

mountTopbar("cases");
if (params.get("status")) $("#filter-status").value = params.get("status");
for (const select of ["#filter-status", "#filter-campaign"]) {
  $(select).addEventListener("change", () => { page = 1; load(); });
}
$("#cases-prev").addEventListener("click", () => { page -= 1; load(); });
$("#cases-next").addEventListener("click", () => { page += 1; load(); });
main();

async function main() {
  const [register] = await Promise.allSettled([all("/api/v1/enterprises", {}, 100000),
                                               campaignChoices()]);
  zone = await timeZone();
  if (register.status === "fulfilled") enterprises = new Map(register.value.map((e) => [e.id, e]));
  await load();
}

// Campaigns are the authority's: other accounts filter by status only.
async function campaignChoices() {
  if (!mayEnforce(account())) {
    $("#campaign-filter").hidden = true;
    return;
  }
  const campaigns = await all("/api/v1/campaigns", {}, 1000);
  $("#filter-campaign").append(...campaigns.map((c) => h("option", { value: c.campaign_id },
                                                         `${c.name} · ${c.legal_basis}`)));
  if (params.get("campaign_id")) $("#filter-campaign").value = params.get("campaign_id");
}

async function load() {
  const rows = $("#case-rows");
  try {
    const answer = await get("/api/v1/cases", { status: $("#filter-status").value,
                                                campaign_id: $("#filter-campaign").value,
                                                page, size: PAGE_SIZE });
    const pages = Math.max(1, Math.ceil(answer.total / PAGE_SIZE));
    $("#cases-page").textContent = t("cases.page", { page, pages, total: answer.total });
    $("#cases-prev").disabled = page <= 1;
    $("#cases-next").disabled = page >= pages;
    if (!answer.items.length) {
      fill(rows, h("tr", {}, h("td", { colspan: 8 }, message("info", t("cases.none")))));
      return;
    }
    fill(rows, answer.items.map((row) => {
      const enterprise = enterprises.get(row.enterprise_id);
      const money = (key) => h("td", { class: "num money" }, amount(row.totals[key], row.currency));
      return h("tr", { class: "case", dataset: { caseId: row.case_id } },
        h("td", {}, h("a", { href: "/app/case.html?id=" + encodeURIComponent(row.case_id) },
                      enterprise ? enterprise.name : row.enterprise_id),
          enterprise ? h("small", {}, " · " + enterprise.town) : null),
        h("td", {}, caseStatus(row)),
        h("td", { class: "num" }, String(row.citations)),
        money("proposed"), money("imposed"), money("paid"), money("balance"),
        h("td", {}, timeIn(row.opened_at, zone)));
    }));
  } catch (err) {
    fill(rows, h("tr", {}, h("td", { colspan: 8 }, errorMessage(err))));
  }
}
