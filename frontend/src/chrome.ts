// The top bar of every signed-in page: the organization switcher and the user menu's preferences.
// The bar itself is server-rendered (frontend/templates/frontend/topbar.html), so it shows before the
// app loads and works without it; this makes the language and theme choices apply at once.

import { api } from "./api";
import { el, replaceChildren } from "./dom";
import { catalogue } from "./locale";
import type { Organization } from "./types";

const t = catalogue(
  { organization: "Organization", switchFailed: "Could not switch the organization: {reason}" },
  { organization: "組織", switchFailed: "組織を切り替えられませんでした: {reason}" },
);

export function startChrome(): void {
  for (const form of document.querySelectorAll<HTMLFormElement>("form[data-autosubmit]")) {
    form.querySelector<HTMLElement>(".prefs-save")?.setAttribute("hidden", "");
    for (const select of form.querySelectorAll("select")) select.addEventListener("change", () => form.requestSubmit());
  }
  const switcher = document.getElementById("org-switcher");
  if (switcher && Number(switcher.dataset.organizations) > 1) void organizationSwitcher(switcher);
  // Esc closes the user menu and gives focus back to its button.
  document.addEventListener("keydown", (event) => {
    const menu = document.querySelector<HTMLDetailsElement>("details.usermenu[open]");
    if (event.key === "Escape" && menu) {
      menu.open = false;
      menu.querySelector("summary")?.focus();
    }
  });
}

async function organizationSwitcher(holder: HTMLElement): Promise<void> {
  let organizations: Organization[];
  try {
    organizations = await api<Organization[]>("GET", "/api/organizations");
  } catch {
    return;
  }
  if (organizations.length < 2) return;
  const select = el("select", { attrs: { "aria-label": t("organization") } });
  for (const organization of organizations) {
    const option = el("option", { text: `${organization.title} (${organization.role})`, attrs: { value: String(organization.id) } });
    option.selected = organization.active;
    select.append(option);
  }
  select.addEventListener("change", async () => {
    try {
      await api("POST", "/api/organizations/switch", { organization: Number(select.value) });
    } catch (error) {
      alert(t("switchFailed", { reason: (error as Error).message }));
      return;
    }
    // Projects, roles and the top bar belong to the organization: start again from its projects.
    location.assign("/projects/");
  });
  replaceChildren(holder, select);
}
