// A project's Training tab (reviewers and above; launching, cancelling and promoting are a manager's):
// one view at a time, chosen by the address so that each has a link and the back button works:
//   (none)              the runs (training_jobs.ts)
//   ?view=launch        the launch form with its live estimate (training_form.ts; managers)
//   ?job=<id>           one run: charts, events, logs, Cancel, its model and evaluation (training_job.ts)
//   ?compare=<id>,<id>  two runs side by side (training_compare.ts)
//   ?view=registry      the model versions (training_registry.ts)
//   ?model=<id>         one model version, with Promote (training_registry.ts)
// Everything the server sends (names, labels, events, errors) is drawn as text through dom.ts.

import "./training.css";
import { el, replaceChildren } from "../dom";
import { catalogue } from "../locale";
import { roleAtLeast } from "../types";
import type { ProjectContext } from "./project";
import compareView from "./training_compare";
import { launchForm } from "./training_form";
import jobPage from "./training_job";
import jobsList from "./training_jobs";
import { modelPage, registryList } from "./training_registry";

const t = catalogue(
  {
    heading: "Training",
    views: "Training pages",
    runs: "Runs",
    launch: "Launch a run",
    registry: "Model registry",
  },
  {
    heading: "学習",
    views: "学習のページ",
    runs: "学習一覧",
    launch: "学習を開始",
    registry: "モデルレジストリ",
  },
);

type View = "runs" | "launch" | "registry";

function idOf(value: string | null): number | null {
  const id = Number(value);
  return Number.isInteger(id) && id > 0 ? id : null;
}

export default async function trainingTab(ctx: ProjectContext): Promise<() => void> {
  const project = ctx.project;
  const canLaunch = roleAtLeast(ctx.settings.role, "manager");
  const query = new URLSearchParams(location.search);
  const jobId = idOf(query.get("job"));
  const modelId = idOf(query.get("model"));
  const compare = query.get("compare");
  const asked = query.get("view");
  const view: View = modelId || asked === "registry" ? "registry" : asked === "launch" && canLaunch ? "launch" : "runs";

  const base = `/projects/${project.id}/training/`;
  const link = (key: View, href: string): HTMLAnchorElement => {
    const anchor = el("a", { className: "subtab", attrs: { href }, data: { view: key }, text: t(key) });
    if (key === view) anchor.setAttribute("aria-current", "page");
    return anchor;
  };
  const body = el("div", { className: "training-body" });
  const page = el(
    "div",
    { className: "training-page", data: { view } },
    el("h2", { className: "visually-hidden", text: t("heading") }),
    el("nav", { className: "subtabs", attrs: { "aria-label": t("views") } }, link("runs", base), canLaunch ? link("launch", `${base}?view=launch`) : null, link("registry", `${base}?view=registry`)),
    body,
  );
  document.title = `${t("heading")} · ${project.title} · Tessera`;
  replaceChildren(ctx.root, page);

  if (jobId) return jobPage(ctx, jobId, body);
  if (compare !== null) return compareView(ctx, compare.split(",").map((part) => idOf(part) ?? 0), body);
  if (modelId) return modelPage(ctx, modelId, body);
  if (view === "registry") return registryList(ctx, body);
  if (view === "launch") {
    const form = launchForm(project, (job) => ctx.navigate(`${base}?job=${job.id}`));
    replaceChildren(body, form.element);
    return form.stop;
  }
  return jobsList(ctx, body, canLaunch);
}
