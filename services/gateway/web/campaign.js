// One campaign: its steps (opened → committed → drawn → assigned) and a
// button for the next; the commitment (the snapshot's digest, published
// before the seed); the candidates with weight, factors and exclusions; the
// targets per town with their inspectors; the draw record as a download and
// "verify", which re-runs the draw from its record on the server.
import { account, all, download, get, post } from "./api.js";
import { $, dateTime, errorMessage, field, fill, h, message, mountTopbar,
         showFieldErrors } from "./ui.js";
import { mayEnforce } from "./roles.js";

const STEPS = [
  ["CampaignOpened", "opened", "开立计划 opened"],
  ["CandidatesCommitted", "committed", "公布候选快照摘要 committed"],
  ["TargetsDrawn", "drawn", "抽取检查对象 drawn"],
  ["InspectorsAssigned", "assigned", "分配检查人员 assigned"],
];
const FACTORS = {
  grade: "企业等级 grade", industry_risk: "行业风险 industry risk",
  hazards: "隐患 hazards", since_last_visit: "距上次执法检查 since the last visit",
};
const campaignId = new URLSearchParams(location.search).get("id");
const path = "/api/v1/campaigns/" + encodeURIComponent(campaignId || "");
let enterprises = new Map();

mountTopbar("campaigns");
$("#download-record").addEventListener("click", downloadRecord);
$("#verify").addEventListener("click", verify);
main().catch((err) => fill($("#status"), errorMessage(err)));

async function main() {
  if (!campaignId) {
    fill($("#status"), message("error", "缺少计划编号 · No campaign given (?id=)."));
    return;
  }
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
  const quotas = Object.entries(campaign.quotas).map(([town, n]) => `${town} ${n}`).join("，");
  fill($("#campaign-facts"),
    h("div", {}, `依据 ${campaign.legal_basis} · 期间 ${campaign.period_start} – ` +
                 `${campaign.period_end} · 检查对象 ${campaign.targets} 家 targets · ` +
                 `每家 ${campaign.per_target} 名检查人员 inspectors per target`),
    h("div", {}, `各乡镇名额 quotas (${campaign.quota_basis === "given" ? "给定 given"
                                      : "按企业数最大余额法 largest remainder"})：${quotas}`),
    campaign.mandatory.length
      ? h("div", {}, "必查企业 mandatory: ", campaign.mandatory.map((id, n) =>
          [n ? "，" : "", enterpriseLink(id)])) : null,
    campaign.conflicts.length
      ? h("div", { id: "conflicts" }, "回避 conflicts: ", campaign.conflicts.map((c, n) =>
          [n ? "；" : "", `${c.inspector} — `, enterpriseLink(c.enterprise_id),
           `（${c.reason}）`])) : null);
  drawSteps(campaign);
  drawNextStep(campaign);
  drawCommitment(campaign);
  drawTargets(campaign);
  await drawCandidates();
}

function drawSteps(campaign) {
  const done = new Map(campaign.history.map((step) => [step.event, step]));
  fill($("#steps"), STEPS.map(([event, key, label]) => {
    const step = done.get(event);
    return h("li", { class: step ? "done" : (key === nextOf(campaign.status) ? "current" : ""),
                     dataset: { step: key } },
      h("strong", {}, label),
      step ? h("small", {}, `${dateTime(step.at)} · ${step.actor}`) : null);
  }));
}

function nextOf(status) {
  return { opened: "committed", committed: "drawn", drawn: "assigned" }[status] || null;
}

function drawNextStep(campaign) {
  const box = $("#next-body");
  const next = nextOf(campaign.status);
  if (!next) {
    fill(box, message("ok", "抽取与人员分配已完成 · The draw and the assignment are done."));
    return;
  }
  if (!mayEnforce(account())) {
    fill(box, message("info", "只有执法人员可以进行下一步 · Only the authority's inspectors " +
                              "take the next step."));
    return;
  }
  const result = h("div", { id: "step-message" });
  if (next === "committed") {
    fill(box, h("p", {}, "固定候选企业及其权重、排除原因和检查人员名单，并公布其 SHA-256 摘要；" +
                         "摘要公布后才确定随机种子。 · Fix the candidates, their weights and " +
                         "exclusions and the inspector pool, and publish their digest before " +
                         "the seed is known."),
         h("div", { class: "actions" }, h("button", { type: "button", class: "primary",
                                                       id: "commit", onclick: (e) => act(
           e.target, result, () => post(path + "/commit")) }, "公布摘要 Commit the candidates")),
         result);
  } else if (next === "drawn") {
    const form = h("form", { id: "draw-form", novalidate: true },
      field("随机种子 Seed", "seed", h("input", { type: "text", required: true,
                                                   placeholder: "3D 2016125: 4 7 1" }),
            { hint: "按公开来源原样填写 · exactly as the public source gives it" }),
      field("种子来源 Seed source", "seed_source", h("input", {
        type: "text", required: true, placeholder: "中国福利彩票3D 第2016125期开奖号码" })),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary",
                                                    id: "draw" }, "抽取 Draw the targets")),
      result);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      act($("#draw"), result, () => post(path + "/draw", {
        seed: form.elements.seed.value, seed_source: form.elements.seed_source.value.trim() }),
      form);
    });
    fill(box, form);
  } else {
    fill(box, h("p", {}, `从已公布的检查人员名单中为每个对象随机分配 ${campaign.per_target} 名` +
                         "检查人员，避开回避名单，负荷均衡。 · Draw the inspectors to the " +
                         "targets from the committed pool, avoiding the conflict list, with " +
                         "a balanced load."),
         h("div", { class: "actions" }, h("button", { type: "button", class: "primary",
                                                       id: "assign", onclick: (e) => act(
           e.target, result, () => post(path + "/assignments", {})) },
           "分配检查人员 Assign inspectors")),
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
    fill($("#commitment-body"), message("info", "尚未公布 · Not committed yet: the candidates " +
                                                "below are a preview of the facts as they stand."));
    return;
  }
  fill($("#commitment-body"), h("dl", { class: "facts" },
    h("dt", {}, "快照摘要 snapshot digest"),
    h("dd", {}, h("code", { id: "snapshot-digest", class: "digest" }, commitment.snapshot_digest)),
    h("dt", {}, "人员名单摘要 assignment digest"),
    h("dd", {}, h("code", { class: "digest" }, commitment.assignment_digest)),
    h("dt", {}, "公布 committed"),
    h("dd", {}, `${dateTime(commitment.committed_at)} · ${commitment.committed_by}`),
    h("dt", {}, "候选 candidates"),
    h("dd", {}, `${commitment.candidates}，排除 excluded ${commitment.exclusions} · 权重规则 ` +
                `weights ${commitment.weights_version} · 数据日期 as of ${commitment.as_of}`),
    h("dt", {}, "检查人员 inspectors"),
    h("dd", {}, commitment.inspectors.join("，"))));
}

function drawTargets(campaign) {
  const drawing = campaign.draw;
  $("#record-actions").hidden = !drawing;
  if (!drawing) {
    fill($("#targets-body"), message("info", "尚未抽取 · Not drawn yet."));
    return;
  }
  const inspectors = new Map(((campaign.assignment || {}).assignments || []).map(
    (a) => [a.enterprise_id, a.inspectors]));
  const towns = [...new Set(drawing.targets.map((t) => t.town))];
  fill($("#targets-body"),
    h("p", {}, `种子 seed `, h("code", { id: "seed" }, drawing.seed), ` · 来源 source ` +
               `${drawing.seed_source} · 算法 ${drawing.algorithm} · ${dateTime(drawing.drawn_at)}` +
               ` · ${drawing.drawn_by}`),
    (() => {
      const mandatory = drawing.targets.filter((t) => t.mandatory).length;
      const random = drawing.targets.length - mandatory;
      // a share in tenths of a percent from integers: for reading, never for a rule
      const share = drawing.targets.length
        ? (Math.round(1000 * random / drawing.targets.length) / 10).toFixed(1) + " %" : "–";
      return h("p", { id: "draw-split" }, `必查 mandatory ${mandatory} · 随机 random ${random}` +
                                          `（随机占 random share ${share}）`);
    })(),
    Object.keys(drawing.shortfall).length
      ? message("error", "名额不足 shortfall: " + Object.entries(drawing.shortfall)
          .map(([town, n]) => `${town} ${n}`).join("，")) : null,
    towns.map((town) => {
      const targets = drawing.targets.filter((t) => t.town === town);
      return h("div", { class: "town", dataset: { town } },
        h("h3", {}, `${town} `, h("small", {}, `${targets.length} / ${campaign.quotas[town] ?? ""}`)),
        h("div", { class: "table-wrap" }, h("table", {},
          h("thead", {}, h("tr", {}, ["#", "企业 Enterprise", "网格 Grid", "方式 How",
                                      "检查人员 Inspectors", "排序键 Key"].map((t) =>
            h("th", {}, t)))),
          h("tbody", {}, targets.map((target, n) => h("tr", {
            class: "target", dataset: { enterpriseId: target.enterprise_id } },
            h("td", { class: "num" }, String(n + 1)),
            h("td", {}, enterpriseLink(target.enterprise_id)),
            h("td", {}, target.grid || ""),
            h("td", {}, target.mandatory ? h("span", { class: "badge major" }, "必查 mandatory")
                                         : h("span", { class: "badge" }, "随机 random")),
            h("td", { class: "inspectors" }, (inspectors.get(target.enterprise_id) || []).join("，")),
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
    if (factor.name === "grade") shown = value || "未评级 ungraded";
    else if (factor.name === "industry_risk") shown = `${value.industry || "–"} (${value.class})`;
    else if (factor.name === "hazards") {
      shown = `重大 ${value.open_major} · 逾期 ${value.overdue} · 挂牌 ${value.listed}`;
    } else if (factor.name === "since_last_visit") {
      shown = value.last_visit ? `${value.last_visit}（${value.days} 天）` : "从未 never";
    }
    return h("li", { dataset: { factor: factor.name } },
             `${FACTORS[factor.name] || factor.name}: ${shown} ${factor.effect}`);
  };
  const candidates = [...answer.candidates].sort((a, b) => b.weight - a.weight
                                                 || a.town.localeCompare(b.town));
  fill(box,
    h("p", { class: "muted" }, `${answer.committed ? "已固定 committed" : "预览 preview"} · ` +
                               `数据日期 as of ${answer.as_of} · 权重规则 weights ` +
                               `${answer.weights_version || ""} · ${answer.candidates.length} ` +
                               `家候选 candidates，${answer.exclusions.length} 家排除 excluded`),
    h("div", { class: "table-wrap" }, h("table", { id: "candidate-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "企业 Enterprise"), h("th", {}, "镇街 Town"),
                       h("th", { class: "num" }, "权重 Weight"), h("th", {}, "因素 Factors"),
                       h("th", {}, "备注 Note"))),
      h("tbody", {}, candidates.map((c) => h("tr", { class: "candidate",
                                                     dataset: { enterpriseId: c.enterprise_id,
                                                                weight: String(c.weight) } },
        h("td", {}, enterpriseLink(c.enterprise_id)), h("td", {}, c.town),
        h("td", { class: "num weight" }, milli(c.weight)),
        h("td", {}, h("ul", { class: "factors" }, (c.factors || []).map(factorText))),
        h("td", {}, c.mandatory ? h("span", { class: "badge major" }, "必查 mandatory") : null,
          c.waived ? h("div", {}, h("small", {}, "免于排除 waived: " + c.waived.reason)) : null)))))),
    h("h3", {}, "排除 ", h("small", {}, "excluded, with the reason")),
    answer.exclusions.length ? h("div", { class: "table-wrap" }, h("table", { id: "exclusion-table" },
      h("thead", {}, h("tr", {}, ["企业 Enterprise", "镇街 Town", "原因 Reason", "代码 Code"].map(
        (t) => h("th", {}, t)))),
      h("tbody", {}, answer.exclusions.map((x) => h("tr", { class: "exclusion",
                                                            dataset: { enterpriseId: x.enterprise_id } },
        h("td", {}, enterpriseLink(x.enterprise_id)), h("td", {}, x.town),
        h("td", { class: "reason" }, x.reason), h("td", {}, h("code", {}, x.code)))))))
      : message("info", "无排除企业 · No candidate is excluded."));
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
  fill(box, h("p", { class: "muted" }, "核验中 verifying …"));
  try {
    const answer = await post(path + "/draw/verify");
    const yes = (value, good, bad) => h("li", { class: value ? "pass" : "fail" },
                                        value ? "✓ " + good : "✗ " + bad);
    fill(box, h("div", { id: "verification", class: "message " + (answer.identical &&
                                                                    answer.digest_matches
                                                                    ? "ok" : "error"),
                          dataset: { identical: String(answer.identical) } },
      h("strong", {}, answer.identical ? "抽取结果核验：一致 ✓ identical"
                                       : "抽取结果核验：不一致 ✗ differs"),
      h("ul", {},
        yes(answer.identical, "按记录重新抽取，名单完全一致 · re-run from the record: the same list",
            "按记录重新抽取，名单不一致 · re-run from the record: another list"),
        yes(answer.digest_matches, "摘要一致 · the digests match the recorded input",
            "摘要不一致 · a digest does not match"),
        answer.committed_before_revealed === null ? null
          : yes(answer.committed_before_revealed, "摘要公布在种子确定之前 · committed before " +
                "the seed was revealed", "摘要公布不在种子确定之前 · not committed before the reveal")),
      h("small", {}, `算法 ${answer.algorithm} · 种子 seed ${answer.seed} · 摘要 ` +
                     answer.snapshot_digest),
      answer.differences.length ? h("ul", {}, answer.differences.map((d) => h("li", {},
        `${d.part}${d.position === null ? "" : " #" + d.position}: ${JSON.stringify(d.recorded)}` +
        ` ≠ ${JSON.stringify(d.recomputed)}`))) : null));
  } catch (err) {
    fill(box, errorMessage(err));
  } finally {
    button.disabled = false;
  }
}
