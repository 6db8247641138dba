// Listed supervision: every major hazard the authority listed, in
// the account's scope, with its deadline, the days left (cut in the
// deployment's time zone, as the hazard service counts its reminders), the
// responsible office and the status; nearest deadline first.
import { all } from "./api.js";
import { t } from "./i18n.js";
import { categoryNamer } from "./taxonomy.js";
import { timeZone } from "./deployment.js";
import { $, errorMessage, fill, h, listedTable, mountTopbar } from "./ui.js";

mountTopbar("listed");
main();

async function main() {
  const box = $("#listed .body");
  try {
    const [zone, hazards, enterprises, categoryName] = await Promise.all([
      timeZone(),
      all("/api/v1/hazards", { listed: "true", sort: "listing_deadline" }, 2000),
      all("/api/v1/enterprises", {}, 100000).catch(() => []),
      categoryNamer()]);
    $("#zone").textContent = zone;
    const register = new Map(enterprises.map((e) => [e.id, e]));
    // each category by its label in the reader's language
    const items = hazards.map((hazard) => ({ ...hazard, category: categoryName(hazard.category) }));
    fill(box, listedTable({ items, total: items.length }, (hazard) => {
      const enterprise = register.get(hazard.enterprise_id);
      return [h("td", {}, h("a", { href: "/app/enterprise.html?enterprise=" +
                                          encodeURIComponent(hazard.enterprise_id) },
                            enterprise ? enterprise.name : hazard.enterprise_id)),
              h("td", {}, enterprise ? enterprise.town : "")];
    }, [t("listed.enterprise"), t("listed.town")], zone));
  } catch (err) {
    fill(box, errorMessage(err));
  }
}
