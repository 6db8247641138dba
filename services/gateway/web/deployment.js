// What the pages need to know of the deployment (/app/deployment.json): the
// time zone its days are cut in, so that a page counts "days left" as the
// services do. Read once per page.
let settings = null;

export function deployment() {
  if (!settings) {
    settings = fetch("/app/deployment.json", { headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : {}))
      .catch(() => ({}))
      .then((answer) => ({ time_zone: answer.time_zone || "Asia/Shanghai" }));
  }
  return settings;
}

export async function timeZone() {
  return (await deployment()).time_zone;
}
