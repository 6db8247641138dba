// Words the enforcement pages share: campaign and case states, outcomes and
// the events of a case's history, from the catalogue (messages/enforcement.json).
import { t } from "./i18n.js";
import { h, labelOf } from "./ui.js";

export const OUTCOMES = ["paid", "no_penalty", "withdrawn", "terminated"];

// An outcome as the close form offers it (terminated says a note is needed).
export function outcomeChoice(key) {
  return key === "terminated" ? t("enforcement.outcome_choice.terminated")
                              : labelOf("enforcement.outcome", key);
}

export function caseEvent(event) {
  return labelOf("enforcement.event", event);
}

export function caseStatus(row) {
  const label = row.status === "closed" && row.outcome
    ? t("enforcement.closed_with", { outcome: labelOf("enforcement.outcome", row.outcome) })
    : labelOf("enforcement.case_state", row.status);
  return h("span", { class: "badge case-" + row.status }, label);
}

export function campaignStatus(status) {
  return h("span", { class: "badge campaign-" + status },
           labelOf("enforcement.campaign_state", status));
}
