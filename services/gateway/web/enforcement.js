// Words the enforcement pages share: campaign and case states, violation
// classes, outcomes and the events of a case's history, Chinese first.
import { h } from "./ui.js";

export const CAMPAIGN_STATES = {
  opened: "已开立 opened", committed: "已公布快照摘要 committed", drawn: "已抽取 drawn",
  assigned: "已分配检查人员 assigned",
};

export const CASE_STATES = {
  open: "立案 open", penalty_decided: "已作出处罚决定 penalty decided",
  paid: "罚款已缴清 paid", closed: "已结案 closed",
};

export const OUTCOMES = [
  ["paid", "罚款缴清结案 paid"], ["no_penalty", "不予处罚结案 no penalty"],
  ["withdrawn", "撤销立案 withdrawn"], ["terminated", "终结 terminated (a note why)"],
];

export const CASE_EVENTS = {
  CaseOpened: "立案 case opened", CitationIssued: "认定违法行为 citation issued",
  CitationWithdrawn: "撤销违法行为 citation withdrawn",
  CitationAbated: "违法行为已整改 citation abated",
  CitationAbatementOverdue: "逾期未整改 abatement overdue",
  PenaltyDecided: "作出处罚决定 penalty decided", FinePaid: "缴纳罚款 fine paid",
  CaseClosed: "结案 case closed",
};

export function caseStatus(row) {
  const label = row.status === "closed" && row.outcome_label
    ? `已结案 closed · ${row.outcome_label}` : CASE_STATES[row.status] || row.status;
  return h("span", { class: "badge case-" + row.status }, label);
}

export function campaignStatus(status) {
  return h("span", { class: "badge campaign-" + status }, CAMPAIGN_STATES[status] || status);
}
