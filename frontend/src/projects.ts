// Home: the projects of the active organization with the caller's role, what is left for them and the
// overall progress; an organization switcher when the caller belongs to several.

import { api } from "./api";
import { el, replaceChildren } from "./dom";
import type { Organization, ProjectProgress } from "./types";

export async function projectsPage(root: HTMLElement, switcher: HTMLElement | null): Promise<void> {
  const list = el("div", { className: "project-list", attrs: { "aria-live": "polite" } });
  replaceChildren(root, el("h1", { text: "Projects" }), list);
  if (switcher) await organizationSwitcher(switcher, () => void loadProjects(list));
  await loadProjects(list);
}

async function organizationSwitcher(holder: HTMLElement, onSwitch: () => void): Promise<void> {
  let organizations: Organization[];
  try {
    organizations = await api<Organization[]>("GET", "/api/organizations");
  } catch {
    return;
  }
  if (organizations.length < 2) {
    const only = organizations[0];
    replaceChildren(holder, only ? el("span", { className: "org", text: only.title }) : null);
    return;
  }
  const select = el("select", { attrs: { "aria-label": "Organization" } });
  for (const organization of organizations) {
    const option = el("option", { text: `${organization.title} (${organization.role})`, attrs: { value: String(organization.id) } });
    option.selected = organization.active;
    select.append(option);
  }
  select.addEventListener("change", async () => {
    await api("POST", "/api/organizations/switch", { organization: Number(select.value) });
    onSwitch();
  });
  replaceChildren(holder, select);
}

async function loadProjects(list: HTMLElement): Promise<void> {
  let projects: ProjectProgress[];
  try {
    projects = (await api<{ results: ProjectProgress[] }>("GET", "/api/labeling/projects/")).results;
  } catch (error) {
    replaceChildren(list, el("p", { className: "notice error", text: (error as Error).message }));
    return;
  }
  if (!projects.length) {
    replaceChildren(list, el("p", { text: "No projects in this organization yet." }));
    return;
  }
  const cards = projects.map((project) => {
    const percent = project.total_tasks ? Math.round((project.tasks_labeled / project.total_tasks) * 100) : 0;
    const bar = el("div", { className: "progress-fill" });
    bar.style.width = `${percent}%`;
    const start = el("a", {
      className: project.tasks_left_for_me ? "button primary" : "button",
      attrs: { href: `/projects/${project.id}/label/` },
      text: project.tasks_left_for_me ? "Start labeling" : "Open",
    });
    return el(
      "article",
      { className: "project-card", data: { project: project.id } },
      el("h2", { text: project.title }),
      project.description ? el("p", { className: "description", text: project.description }) : null,
      el(
        "dl",
        {},
        el("dt", { text: "Your role" }),
        el("dd", { data: { field: "role" }, text: project.role }),
        el("dt", { text: "Left for you" }),
        el("dd", { data: { field: "left" }, text: String(project.tasks_left_for_me) }),
        el("dt", { text: "Done today" }),
        el("dd", { data: { field: "today" }, text: String(project.done_today) }),
        el("dt", { text: "Progress" }),
        el("dd", { data: { field: "progress" }, text: `${project.tasks_labeled} / ${project.total_tasks} (${percent}%)` }),
      ),
      el("div", { className: "progress", attrs: { role: "progressbar", "aria-valuenow": String(percent), "aria-valuemin": "0", "aria-valuemax": "100" } }, bar),
      start,
    );
  });
  replaceChildren(list, ...cards);
  list.querySelector<HTMLElement>("a.button.primary, a.button")?.focus();
}
