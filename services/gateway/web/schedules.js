// An enterprise's inspection schedules (GET /api/v1/enterprises/{id}/schedules):
// which checklist at which position how often, by whom, from when — and their
// rounds (GET /api/v1/rounds), due, done or missed, filtered by schedule,
// status and days, a missed round marked. Its manager (the only role the API
// lets change schedules) creates one — checklist, position, frequency (daily;
// weekly on chosen weekdays; monthly; by shifts, each a name and its hours),
// a person or a role, the first day — and ends one (from a day on, with a
// reason). Days are the deployment's (deployment.js), as the service cuts
// rounds. `?enterprise_id=` for the authority; an enterprise account sees its own.
import { all, get, goToLogin, me, post } from "./api.js";
import { t } from "./i18n.js";
import { $, dayIn, errorMessage, field, fill, h, labelOf, message, mountTopbar,
         showFieldErrors, timeIn } from "./ui.js";
import { timeZone } from "./deployment.js";
import { formKey, showRefusal } from "./checklists-shared.js";

const FREQUENCIES = ["daily", "weekly", "monthly", "shift"];
const WEEKDAYS = [1, 2, 3, 4, 5, 6, 7];
const ASSIGNABLE_ROLES = ["enterprise_staff", "enterprise_manager"];
const ROUND_STATUSES = ["due", "done", "missed"];

let zone = "Asia/Shanghai";
let who = null;
let enterpriseId = null;
let manages = false;
let schedules = [];
const names = { positions: new Map(), checklists: new Map() };
let ending = null;            // the schedule the end form is for

mountTopbar("schedules");
main();

function today() {
  return dayIn(Date.now(), zone);
}

function dayOffset(days) {
  return dayIn(Date.now() + days * 86400000, zone);
}

async function main() {
  zone = await timeZone();
  try {
    who = await me();
  } catch (err) {
    fill($("#status"), errorMessage(err));
    return;
  }
  if (!who) {
    goToLogin();
    return;
  }
  enterpriseId = new URLSearchParams(location.search).get("enterprise_id") || who.enterprise_id;
  if (!enterpriseId) {
    fill($("#schedules-list"), message("error", t("schedules.no_enterprise")));
    fill($("#rounds-list"));
    return;
  }
  if (!who.enterprise_id) {
    $("#to-positions").href = "/app/positions.html?enterprise_id=" + encodeURIComponent(enterpriseId);
  }
  try {
    const enterprise = await get("/api/v1/enterprises/" + encodeURIComponent(enterpriseId));
    $("#schedules-enterprise").textContent = enterprise.name;
  } catch (err) {
    fill($("#schedules-list"), errorMessage(err));
    fill($("#rounds-list"));
    return;
  }
  manages = who.role === "enterprise_manager" && who.enterprise_id === enterpriseId;
  let checklists = [];
  let positions = [];
  try {
    [checklists, positions] = await Promise.all([
      all("/api/v1/checklists", { enterprise_id: enterpriseId }),
      all(`/api/v1/enterprises/${encodeURIComponent(enterpriseId)}/positions`)]);
  } catch (err) {
    fill($("#status"), errorMessage(err));
  }
  for (const c of checklists) names.checklists.set(c.id, c.title);
  for (const p of positions) names.positions.set(p.id, p.name);
  await loadSchedules();
  roundsFilter();
  await loadRounds();
  if (manages) {
    await createForm(checklists.filter((c) => c.published_version), positions);
    endForm();
  }
}

// --- schedules ---------------------------------------------------------------------------

function terms(schedule) {
  const parts = [labelOf("schedules.frequency", schedule.frequency)];
  if (schedule.weekdays.length) {
    parts.push(schedule.weekdays.map((day) => t("schedules.weekday." + day)).join(" "));
  }
  for (const shift of schedule.shifts) parts.push(`${shift.name} ${shift.start}\u2013${shift.end}`);
  return parts.join(" \u00b7 ");
}

function assignee(row) {
  return row.assignee || labelOf("common.role", row.assignee_role);
}

function ended(schedule) {
  return schedule.ends_on !== null && schedule.ends_on <= today();
}

async function loadSchedules() {
  const box = $("#schedules-list");
  let answer;
  try {
    answer = await get(`/api/v1/enterprises/${encodeURIComponent(enterpriseId)}/schedules`);
  } catch (err) {
    fill(box, errorMessage(err));
    return;
  }
  schedules = answer.items;
  showRequirements(answer.requirements);
  if (!schedules.length) {
    fill(box, message("ok", t("schedules.none")));
    return;
  }
  fill(box, h("div", { class: "table-wrap" }, h("table", { class: "schedules" },
    h("thead", {}, h("tr", {}, ["checklist", "position", "terms", "who", "starts_on", "ends_on",
                                manages ? "actions" : null].filter(Boolean).map(
      (name) => h("th", {}, t("schedules.col." + name))))),
    h("tbody", {}, schedules.map((row) => h("tr", {
      class: ended(row) ? "ended" : "", dataset: { scheduleId: row.id } },
      h("td", {}, names.checklists.get(row.checklist_id) || row.checklist_id),
      h("td", {}, names.positions.get(row.position_id) || row.position_id),
      h("td", { class: "terms" }, terms(row)),
      h("td", {}, assignee(row)),
      h("td", {}, row.starts_on),
      h("td", { class: "ends-on" }, row.ends_on || "\u2014",
        ended(row) ? [" ", h("span", { class: "badge" }, t("schedules.ended"))] : null),
      manages ? h("td", {}, row.ends_on && row.ends_on <= today() ? "\u2014"
        : h("button", { type: "button", class: "small secondary end",
                        onclick: () => openEnd(row) }, t("schedules.end"))) : null))))));
  refreshScheduleChoice();
}

// The universal checklists that require rounds at least so often of every
// enterprise they apply to, met or not by its schedules: shown when the
// service answers them (`requirements`).
function showRequirements(requirements) {
  const box = $("#requirements");
  box.hidden = !requirements || !requirements.length;
  if (box.hidden) return;
  fill(box, h("h2", {}, t("schedules.requirements_title")),
    h("ul", { class: "requirements" }, requirements.map((each) => h("li", {
      class: each.satisfied ? "met" : "unmet", dataset: { checklistId: each.checklist_id } },
      h("span", { class: "badge " + (each.satisfied ? "pass" : "overdue") },
        t(each.satisfied ? "schedules.requirement_met" : "schedules.requirement_unmet")), " ",
      t("schedules.requirement", { title: each.title,
                                   frequency: labelOf("schedules.frequency", each.required_frequency) })))));
}

// --- ending one --------------------------------------------------------------------------

function endForm() {
  fill($("#end-fields"),
    field(t("schedules.field.ends_on"), "ends_on", h("input", { type: "date" }),
          { hint: t("schedules.ends_on_hint") }),
    field(t("schedules.field.reason"), "reason", h("input", { type: "text", maxlength: 2000 })));
  const form = $("#end-form");
  const key = formKey(form);
  $("#end-cancel").addEventListener("click", () => { $("#end").hidden = true; });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = $("#end-message");
    showFieldErrors(form, {});
    fill(box);
    const body = { reason: form.elements.reason.value.trim() };
    if (form.elements.ends_on.value) body.ends_on = form.elements.ends_on.value;
    $("#end-submit").disabled = true;
    try {
      const done = await post(`/api/v1/schedules/${encodeURIComponent(ending.id)}/end`, body,
                              { idempotencyKey: key.get() });
      key.reset();
      $("#end").hidden = true;
      fill($("#status"), message("ok", t("schedules.ended_message", { day: done.ends_on })));
      await loadSchedules();
      await loadRounds();
    } catch (err) {
      showRefusal(form, box, err);
    } finally {
      $("#end-submit").disabled = false;
    }
  });
}

function openEnd(schedule) {
  ending = schedule;
  const form = $("#end-form");
  form.reset();
  showFieldErrors(form, {});
  fill($("#end-message"));
  form.elements.ends_on.value = today();
  form.elements.ends_on.min = today();
  $("#end-which").textContent = [names.checklists.get(schedule.checklist_id) || schedule.checklist_id,
                                 names.positions.get(schedule.position_id) || schedule.position_id,
                                 terms(schedule)].join(" \u00b7 ");
  $("#end").hidden = false;
  $("#end").scrollIntoView({ block: "nearest" });
}

// --- creating one ------------------------------------------------------------------------

async function assignableAccounts() {
  try {
    const rows = await all("/api/v1/accounts", { sort: "username" });
    return rows.filter((row) => !row.disabled && ASSIGNABLE_ROLES.includes(row.role)
                                && (!row.enterprise_id || row.enterprise_id === enterpriseId));
  } catch (err) {
    return null;             // typed in instead
  }
}

function options(rows, value, label, none) {
  return [none ? h("option", { value: "" }, none) : null,
          rows.map((row) => h("option", { value: value(row) }, label(row)))];
}

function shiftRow(index) {
  return h("div", { class: "shift-row", dataset: { index: String(index) } },
    field(t("schedules.field.shift_name"), `shifts.${index}.name`,
          h("input", { type: "text", maxlength: 50, class: "shift-name" })),
    field(t("schedules.field.shift_start"), `shifts.${index}.start`,
          h("input", { type: "time", class: "shift-start", value: "08:00" })),
    field(t("schedules.field.shift_end"), `shifts.${index}.end`,
          h("input", { type: "time", class: "shift-end", value: "16:00" })),
    h("button", { type: "button", class: "small secondary remove-shift", onclick: (event) => {
      event.target.closest(".shift-row").remove();
      renumberShifts();
    } }, t("schedules.remove_shift")));
}

function renumberShifts() {
  document.querySelectorAll("#shift-rows .shift-row").forEach((row, index) => {
    row.dataset.index = String(index);
    for (const [cls, name] of [["shift-name", "name"], ["shift-start", "start"], ["shift-end", "end"]]) {
      const input = row.querySelector("." + cls);
      const path = `shifts.${index}.${name}`;
      input.name = path;
      input.id = "f-" + path.replace(/\./g, "-");
      input.closest(".field").querySelector("label").setAttribute("for", input.id);
      input.closest(".field").querySelector(".field-error").dataset.errorFor = path;
    }
  });
}

async function createForm(checklists, positions) {
  $("#create").hidden = false;
  const accounts = await assignableAccounts();
  const personInput = accounts
    ? h("select", {}, options(accounts, (row) => row.username,
                              (row) => `${row.username} (${labelOf("common.role", row.role)})`,
                              t("schedules.choose")))
    : h("input", { type: "text", maxlength: 100 });
  fill($("#schedule-fields"),
    h("div", { class: "form-grid" },
      field(t("schedules.field.checklist"), "checklist_id", h("select", {}, options(
        checklists, (c) => c.id, (c) => `${c.title} (v${c.published_version})`, t("schedules.choose"))),
        { hint: checklists.length ? null : t("schedules.no_published_checklist") }),
      field(t("schedules.field.position"), "position_id", h("select", {}, options(
        positions, (p) => p.id, (p) => p.name, t("schedules.choose")))),
      field(t("schedules.field.frequency"), "frequency", h("select", {}, FREQUENCIES.map(
        (value) => h("option", { value }, labelOf("schedules.frequency", value))))),
      field(t("schedules.field.starts_on"), "starts_on",
            h("input", { type: "date", value: today(), min: today() }),
            { hint: t("schedules.starts_on_hint", { zone }) })),
    h("fieldset", { id: "weekdays-set", class: "choices", hidden: true },
      h("legend", {}, t("schedules.field.weekdays")),
      h("div", { class: "weekday-choices" }, WEEKDAYS.map((day) => h("label", { class: "check" },
        h("input", { type: "checkbox", name: "weekdays", value: String(day) }),
        t("schedules.weekday." + day)))),
      h("small", { id: "weekdays-hint" }),
      h("div", { class: "field-error", dataset: { errorFor: "weekdays" } })),
    h("fieldset", { id: "shifts-set", class: "choices", hidden: true },
      h("legend", {}, t("schedules.field.shifts")),
      h("div", { id: "shift-rows" }),
      h("button", { type: "button", class: "small", id: "add-shift", onclick: () => {
        $("#shift-rows").append(shiftRow($("#shift-rows").children.length));
      } }, t("schedules.add_shift")),
      h("div", { class: "field-error", dataset: { errorFor: "shifts" } })),
    h("fieldset", { class: "choices" },
      h("legend", {}, t("schedules.field.who")),
      h("label", { class: "check" }, h("input", { type: "radio", name: "who", value: "person",
                                                  id: "who-person", checked: true }),
        t("schedules.who_person")),
      h("label", { class: "check" }, h("input", { type: "radio", name: "who", value: "role",
                                                  id: "who-role" }),
        t("schedules.who_role")),
      h("div", { class: "form-grid" },
        h("div", { id: "person-field" }, field(t("schedules.field.assignee"), "assignee", personInput)),
        h("div", { id: "role-field", hidden: true }, field(t("schedules.field.assignee_role"),
          "assignee_role", h("select", {}, ASSIGNABLE_ROLES.map(
            (role) => h("option", { value: role }, labelOf("common.role", role)))))))));
  const form = $("#schedule-form");
  const key = formKey(form);
  const frequencyChanged = () => {
    const frequency = form.elements.frequency.value;
    $("#weekdays-set").hidden = !["weekly", "shift"].includes(frequency);
    $("#weekdays-hint").textContent = frequency === "shift" ? t("schedules.weekdays_shift_hint")
                                                            : t("schedules.weekdays_weekly_hint");
    $("#shifts-set").hidden = frequency !== "shift";
    if (frequency === "shift" && !$("#shift-rows").children.length) {
      $("#shift-rows").append(shiftRow(0));
    }
  };
  form.elements.frequency.addEventListener("change", frequencyChanged);
  const whoChanged = () => {
    const byRole = $("#who-role").checked;
    $("#person-field").hidden = byRole;
    $("#role-field").hidden = !byRole;
  };
  $("#who-person").addEventListener("change", whoChanged);
  $("#who-role").addEventListener("change", whoChanged);
  frequencyChanged();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = $("#schedule-message");
    showFieldErrors(form, {});
    fill(box);
    const frequency = form.elements.frequency.value;
    const body = { checklist_id: form.elements.checklist_id.value,
                   position_id: form.elements.position_id.value, frequency,
                   starts_on: form.elements.starts_on.value };
    if (["weekly", "shift"].includes(frequency)) {
      body.weekdays = [...form.querySelectorAll("input[name=weekdays]:checked")].map(
        (box) => Number(box.value));
    }
    if (frequency === "shift") {
      body.shifts = [...document.querySelectorAll("#shift-rows .shift-row")].map((row) => ({
        name: row.querySelector(".shift-name").value.trim(),
        start: row.querySelector(".shift-start").value,
        end: row.querySelector(".shift-end").value }));
    }
    if ($("#who-role").checked) body.assignee_role = form.elements.assignee_role.value;
    else body.assignee = form.elements.assignee.value.trim() || null;
    $("#schedule-submit").disabled = true;
    try {
      const made = await post(`/api/v1/enterprises/${encodeURIComponent(enterpriseId)}/schedules`,
                              body, { idempotencyKey: key.get() });
      key.reset();
      fill(box, message("ok", t("schedules.created", { terms: terms(made) })));
      await loadSchedules();
      await loadRounds();
    } catch (err) {
      showRefusal(form, box, err);
    } finally {
      $("#schedule-submit").disabled = false;
    }
  });
}

// --- rounds ------------------------------------------------------------------------------

function roundsFilter() {
  const form = $("#rounds-filter");
  const labelled = (id, text, input) => {
    input.id = id;
    return h("div", {}, h("label", { for: id }, text), input);
  };
  fill(form,
    labelled("rounds-schedule", t("schedules.filter.schedule"), h("select", { name: "schedule" })),
    labelled("rounds-status", t("schedules.filter.status"), h("select", { name: "status" },
      h("option", { value: "" }, t("schedules.filter.all")),
      ROUND_STATUSES.map((status) => h("option", { value: status },
                                       labelOf("schedules.round", status))))),
    labelled("rounds-from", t("schedules.filter.from"),
             h("input", { type: "date", name: "from", value: dayOffset(-7) })),
    labelled("rounds-to", t("schedules.filter.to"),
             h("input", { type: "date", name: "to", value: dayOffset(7) })),
    h("div", {}, h("button", { type: "submit", id: "rounds-show" }, t("schedules.filter.show"))),
    h("div", { class: "field-error rounds-error", dataset: { errorFor: "to" } }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    loadRounds();
  });
  form.elements.schedule.addEventListener("change", loadRounds);
  form.elements.status.addEventListener("change", loadRounds);
  refreshScheduleChoice();
}

function refreshScheduleChoice() {
  const select = $("#rounds-schedule");
  if (!select) return;
  const chosen = select.value;
  fill(select, h("option", { value: "" }, t("schedules.filter.all")),
       schedules.map((row) => h("option", { value: row.id, selected: row.id === chosen },
         `${names.checklists.get(row.checklist_id) || row.checklist_id} \u00b7 ` +
         `${names.positions.get(row.position_id) || row.position_id} \u00b7 ${terms(row)}`)));
}

async function loadRounds() {
  const form = $("#rounds-filter");
  const box = $("#rounds-list");
  showFieldErrors(form, {});
  let answer;
  try {
    answer = await get("/api/v1/rounds", { enterprise_id: enterpriseId,
                                           status: form.elements.status.value,
                                           from: form.elements.from.value,
                                           to: form.elements.to.value });
  } catch (err) {
    if (!showFieldErrors(form, err.fields || {})) fill(box, errorMessage(err));
    else fill(box);
    return;
  }
  const schedule = form.elements.schedule.value;
  const rows = answer.items.filter((row) => !schedule || row.schedule_id === schedule);
  const missed = rows.filter((row) => row.status === "missed").length;
  const summary = h("p", { class: "muted", id: "rounds-summary" },
    t("schedules.rounds_summary", { from: answer.from, to: answer.to, n: rows.length, missed }));
  if (!rows.length) {
    fill(box, summary, message("ok", t("schedules.no_rounds")));
    return;
  }
  fill(box, summary, h("div", { class: "table-wrap" }, h("table", { class: "rounds" },
    h("thead", {}, h("tr", {}, ["window", "round", "checklist", "position", "who", "status"].map(
      (name) => h("th", {}, t("schedules.col." + name))))),
    h("tbody", {}, rows.map((row) => h("tr", {
      class: row.status === "missed" ? "late missed" : row.status,
      dataset: { scheduleId: row.schedule_id, round: row.round, status: row.status } },
      h("td", {}, timeIn(row.window_start, zone), " \u2013 ", timeIn(row.window_end, zone)),
      h("td", {}, row.round),
      h("td", {}, names.checklists.get(row.checklist_id) || row.checklist_id),
      h("td", {}, names.positions.get(row.position_id) || row.position_id),
      h("td", {}, assignee(row)),
      h("td", { class: "status" }, h("span", {
        class: "badge " + ({ missed: "overdue", done: "pass" }[row.status] || "") },
        row.status === "missed" ? "\u26a0 " : "", labelOf("schedules.round", row.status)))))))));
}
