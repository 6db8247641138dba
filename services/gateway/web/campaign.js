// One campaign: its steps (opened → committed → drawn → assigned) and a
// button for the next; the commitment (the snapshot's digest, published
// before the seed); the candidates with weight, factors and exclusions; the
// targets per town with their inspectors; the draw record as a download and
// "verify", which re-runs the draw from its record on the server.
import { account, all, download, get, post } from "./api.js";
import { t } from "./i18n.js";
import { $, errorMessage, field, fill, h, labelOf, message, mountTopbar,
         showFieldErrors, timeIn } from "./ui.js";
import { timeZone } from "./deployment.js";
import { mayEnforce } from "./roles.js";

const STEPS = [
  ["CampaignOpened", "opened"], ["CandidatesCommitted", "committed"],
  ["TargetsDrawn", "drawn"], ["InspectorsAssigned", "assigned"],
];
const campaignId = new URLSearchParams(location.search).get("id");
const path = "/api/v1/campaigns/" + encodeURIComponent(campaignId || "");
let enterprises = new Map();
let zone = "Asia/Shanghai";

mountTopbar("campaigns");
$("#download-record").addEventListener("click", downloadRecord);
$("#verify").addEventListener("click", verify);
main().catch((err) => fill($("#status"), errorMessage(err)));

async function main() {
  if (!campaignId) {
    fill($("#status"), message("error", t("campaign.no_id")));
    return;
  }
  zone = await timeZone();
  try {
    enterprises = new Map((await all("/api/v1/enterprises", {}, 100000)).map((e) => [e.id, e]));
  } catch (_) { /* names are a help: ids stand in for them */ }
  await load();
}

function nameOf(id) {
  const enterprise = enterprises.get(id);
  return enterprise ? enterprise.name : id;
}

function enterpriseLink(id) {
  return h("a", { href: "/app/enterprise.html?enterprise=" + encodeURIComponent(id) },
           nameOf(id));
}

// integer milli-units as a decimal, exactly
function milli(weight) {
  return `${Math.floor(weight / 1000)}.${String(weight % 1000).padStart(3, "0")}`;
}

async function load() {
  const campaign = await get(path);
  fill($("#status"));
  $("#campaign").hidden = false;
  $("#campaign").dataset.status = campaign.status;
  $("#campaign-name").textContent = campaign.name;
  const comma = t("campaign.list_separator");
  const quotas = Object.entries(campaign.quotas).map(([town, n]) => `${town} ${n}`).join(comma);
  fill($("#campaign-facts"),
    h("div", {}, t("campaign.facts", { basis: campaign.legal_basis, start: campaign.period_start,
                                       end: campaign.period_end, targets: campaign.targets,
                                       per_target: campaign.per_target })),
    h("div", {}, t("campaign.quotas", {
      basis: t(campaign.quota_basis === "given" ? "campaign.quota_basis.given"
                                                : "campaign.quota_basis.largest_remainder"),
      quotas })),
    campaign.mandatory.length
      ? h("div", {}, t("campaign.mandatory"), campaign.mandatory.map((id, n) =>
          [n ? comma : "", enterpriseLink(id)])) : null,
    campaign.conflicts.length
      ? h("div", { id: "conflicts" }, t("campaign.conflicts"), campaign.conflicts.map((c, n) =>
          [n ? "; " : "", `${c.inspector} — `, enterpriseLink(c.enterprise_id),
           ` (${c.reason})`])) : null);
  drawSteps(campaign);
  drawNextStep(campaign);
  drawCommitment(campaign);
  drawTargets(campaign);
  await drawCandidates();
}

function drawSteps(campaign) {
  const done = new Map(campaign.history.map((step) => [step.event, step]));
  fill($("#steps"), STEPS.map(([event, key]) => {
    const step = done.get(event);
    return h("li", { class: step ? "done" : (key === nextOf(campaign.status) ? "current" : ""),
                     dataset: { step: key } },
      h("strong", {}, t("campaign.step." + key)),
      step ? h("small", {}, `${timeIn(step.at, zone)} · ${step.actor}`) : null);
  }));
}

function nextOf(status) {
  return { opened: "committed", committed: "drawn", drawn: "assigned" }[status] || null;
}

function drawNextStep(campaign) {
  const box = $("#next-body");
  const next = nextOf(campaign.status);
  if (!next) {
    fill(box, message("ok", t("campaign.done")));
    return;
  }
  if (!mayEnforce(account())) {
    fill(box, message("info", t("campaign.only_authority")));
    return;
  }
  const result = h("div", { id: "step-message" });
  if (next === "committed") {
    fill(box, h("p", {}, t("campaign.commit_explain")),
         h("div", { class: "actions" }, h("button", { type: "button", class: "primary",
                                                       id: "commit", onclick: (e) => act(
           e.target, result, () => post(path + "/commit")) }, t("campaign.commit"))),
         result);
  } else if (next === "drawn") {
    const form = h("form", { id: "draw-form", novalidate: true },
      field(t("campaign.seed"), "seed", h("input", { type: "text", required: true,
                                                      placeholder: t("campaign.seed_example") }),
            { hint: t("campaign.seed_hint") }),
      field(t("campaign.seed_source"), "seed_source", h("input", {
        type: "text", required: true, placeholder: t("campaign.seed_source_example") })),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary",
                                                    id: "draw" }, t("campaign.draw"))),
      result);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      act($("#draw"), result, () => post(path + "/draw", {
        seed: form.elements.seed.value, seed_source: form.elements.seed_source.value.trim() }),
      form);
    });
    fill(box, form);
  } else {
    fill(box, h("p", {}, t("campaign.assign_explain", { n: campaign.per_target })),
         h("div", { class: "actions" }, h("button", { type: "button", class: "primary",
                                                       id: "assign", onclick: (e) => act(
           e.target, result, () => post(path + "/assignments", {})) },
           t("campaign.assign"))),
         result);
  }
}

async function act(button, result, call, form) {
  button.disabled = true;
  fill(result);
  if (form) showFieldErrors(form, {});
  try {
    await call();
    await load();
  } catch (err) {
    button.disabled = false;
    fill(result, errorMessage(err));
    if (form) showFieldErrors(form, err.fields);
  }
}

function drawCommitment(campaign) {
  const commitment = campaign.commitment;
  if (!commitment) {
    fill($("#commitment-body"), message("info", t("campaign.not_committed")));
    return;
  }
  fill($("#commitment-body"), h("dl", { class: "facts" },
    h("dt", {}, t("campaign.snapshot_digest")),
    h("dd", {}, h("code", { id: "snapshot-digest", class: "digest" }, commitment.snapshot_digest)),
    h("dt", {}, t("campaign.assignment_digest")),
    h("dd", {}, h("code", { class: "digest" }, commitment.assignment_digest)),
    h("dt", {}, t("campaign.committed")),
    h("dd", {}, `${timeIn(commitment.committed_at, zone)} · ${commitment.committed_by}`),
    h("dt", {}, t("campaign.candidate_count")),
    h("dd", {}, t("campaign.candidate_summary", {
      candidates: commitment.candidates, excluded: commitment.exclusions,
      weights: commitment.weights_version, as_of: commitment.as_of })),
    h("dt", {}, t("campaign.inspectors")),
    h("dd", {}, commitment.inspectors.join(t("campaign.list_separator")))));
}

function drawTargets(campaign) {
  const drawing = campaign.draw;
  $("#record-actions").hidden = !drawing;
  if (!drawing) {
    fill($("#targets-body"), message("info", t("campaign.not_drawn")));
    return;
  }
  const inspectors = new Map(((campaign.assignment || {}).assignments || []).map(
    (a) => [a.enterprise_id, a.inspectors]));
  const towns = [...new Set(drawing.targets.map((target) => target.town))];
  fill($("#targets-body"),
    h("p", {}, t("campaign.seed_line"), " ", h("code", { id: "seed" }, drawing.seed),
      t("campaign.draw_line", { source: drawing.seed_source, algorithm: drawing.algorithm,
                                at: timeIn(drawing.drawn_at, zone), by: drawing.drawn_by })),
    (() => {
      const mandatory = drawing.targets.filter((target) => target.mandatory).length;
      const random = drawing.targets.length - mandatory;
      // a share in tenths of a percent from integers: for reading, never for a rule
      const share = drawing.targets.length
        ? (Math.round(1000 * random / drawing.targets.length) / 10).toFixed(1) + " %" : "–";
      return h("p", { id: "draw-split" }, t("campaign.split", { mandatory, random, share }));
    })(),
    Object.keys(drawing.shortfall).length
      ? message("error", t("campaign.shortfall", { towns: Object.entries(drawing.shortfall)
          .map(([town, n]) => `${town} ${n}`).join(t("campaign.list_separator")) })) : null,
    towns.map((town) => {
      const targets = drawing.targets.filter((target) => target.town === town);
      return h("div", { class: "town", dataset: { town } },
        h("h3", {}, `${town} `, h("small", {}, `${targets.length} / ${campaign.quotas[town] ?? ""}`)),
        h("div", { class: "table-wrap" }, h("table", {},
          h("thead", {}, h("tr", {}, h("th", {}, "#"), ["enterprise", "grid", "how", "inspectors",
                                                        "key"].map((name) =>
            h("th", {}, t("campaign.col." + name))))),
          h("tbody", {}, targets.map((target, n) => h("tr", {
            class: "target", dataset: { enterpriseId: target.enterprise_id } },
            h("td", { class: "num" }, String(n + 1)),
            h("td", {}, enterpriseLink(target.enterprise_id)),
            h("td", {}, target.grid || ""),
            h("td", {}, target.mandatory
              ? h("span", { class: "badge major" }, t("campaign.mandatory_badge"))
              : h("span", { class: "badge" }, t("campaign.random_badge"))),
            h("td", { class: "inspectors" }, (inspectors.get(target.enterprise_id) || [])
              .join(t("campaign.list_separator"))),
            h("td", {}, h("small", { class: "digest" }, target.key))))))));
    }));
}

async function drawCandidates() {
  const box = $("#candidates-body");
  let answer;
  try {
    answer = await get(path + "/candidates");
  } catch (err) {
    fill(box, errorMessage(err));
    return;
  }
  const factorText = (factor) => {
    const value = factor.value;
    let shown = "";
    if (factor.name === "grade") shown = value || t("campaign.ungraded");
    else if (factor.name === "industry_risk") shown = `${value.industry || "–"} (${value.class})`;
    else if (factor.name === "hazards") {
      shown = t("campaign.hazard_factor", { major: value.open_major, overdue: value.overdue,
                                            listed: value.listed });
    } else if (factor.name === "since_last_visit") {
      shown = value.last_visit ? t("campaign.last_visit", { day: value.last_visit, days: value.days })
                               : t("campaign.never");
    }
    return h("li", { dataset: { factor: factor.name } },
             `${labelOf("campaign.factor", factor.name)}: ${shown} ${factor.effect}`);
  };
  const candidates = [...answer.candidates].sort((a, b) => b.weight - a.weight
                                                 || a.town.localeCompare(b.town));
  fill(box,
    h("p", { class: "muted" }, t("campaign.candidates_line", {
      state: t(answer.committed ? "campaign.fixed" : "campaign.preview"), as_of: answer.as_of,
      weights: answer.weights_version || "", candidates: answer.candidates.length,
      excluded: answer.exclusions.length })),
    h("div", { class: "table-wrap" }, h("table", { id: "candidate-table" },
      h("thead", {}, h("tr", {}, h("th", {}, t("campaign.col.enterprise")),
                       h("th", {}, t("campaign.col.town")),
                       h("th", { class: "num" }, t("campaign.col.weight")),
                       h("th", {}, t("campaign.col.factors")), h("th", {}, t("campaign.col.note")))),
      h("tbody", {}, candidates.map((c) => h("tr", { class: "candidate",
                                                     dataset: { enterpriseId: c.enterprise_id,
                                                                weight: String(c.weight) } },
        h("td", {}, enterpriseLink(c.enterprise_id)), h("td", {}, c.town),
        h("td", { class: "num weight" }, milli(c.weight)),
        h("td", {}, h("ul", { class: "factors" }, (c.factors || []).map(factorText))),
        h("td", {}, c.mandatory ? h("span", { class: "badge major" }, t("campaign.mandatory_badge"))
                                : null,
          c.waived ? h("div", {}, h("small", {}, t("campaign.waived", { reason: c.waived.reason })))
                   : null)))))),
    h("h3", {}, t("campaign.excluded"), " ", h("small", {}, t("campaign.excluded_hint"))),
    answer.exclusions.length ? h("div", { class: "table-wrap" }, h("table", { id: "exclusion-table" },
      h("thead", {}, h("tr", {}, ["enterprise", "town", "reason", "code"].map(
        (name) => h("th", {}, t("campaign.col." + name))))),
      h("tbody", {}, answer.exclusions.map((x) => h("tr", { class: "exclusion",
                                                            dataset: { enterpriseId: x.enterprise_id } },
        h("td", {}, enterpriseLink(x.enterprise_id)), h("td", {}, x.town),
        h("td", { class: "reason" }, x.reason), h("td", {}, h("code", {}, x.code)))))))
      : message("info", t("campaign.no_exclusion")));
}

async function downloadRecord() {
  const button = $("#download-record");
  button.disabled = true;
  try {
    await download(path + "/draw/record", {}, `draw-${campaignId}.json`);
  } catch (err) {
    $("#verify-body").replaceChildren(errorMessage(err));
  } finally {
    button.disabled = false;
  }
}

async function verify() {
  const box = $("#verify-body");
  const button = $("#verify");
  button.disabled = true;
  fill(box, h("p", { class: "muted" }, t("campaign.verifying")));
  try {
    const answer = await post(path + "/draw/verify");
    const yes = (value, good, bad) => h("li", { class: value ? "pass" : "fail" },
                                        value ? "✓ " + good : "✗ " + bad);
    fill(box, h("div", { id: "verification", class: "message " + (answer.identical &&
                                                                    answer.digest_matches
                                                                    ? "ok" : "error"),
                          dataset: { identical: String(answer.identical) } },
      h("strong", {}, t(answer.identical ? "campaign.identical" : "campaign.differs")),
      h("ul", {},
        yes(answer.identical, t("campaign.same_list"), t("campaign.other_list")),
        yes(answer.digest_matches, t("campaign.digests_match"), t("campaign.digest_differs")),
        answer.committed_before_revealed === null ? null
          : yes(answer.committed_before_revealed, t("campaign.committed_first"),
                t("campaign.not_committed_first"))),
      h("small", {}, t("campaign.verify_line", { algorithm: answer.algorithm, seed: answer.seed }),
        " ", h("code", { class: "digest" }, answer.snapshot_digest)),
      answer.differences.length ? h("ul", {}, answer.differences.map((d) => h("li", {},
        `${d.part}${d.position === null ? "" : " #" + d.position}: ${JSON.stringify(d.recorded)}` +
        ` ≠ ${JSON.stringify(d.recomputed)}`))) : null));
  } catch (err) {
    fill(box, errorMessage(err));
  } finally {
    button.disabled = false;
  }
}
