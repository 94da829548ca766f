import "./styles.css";
import { LabelingPage } from "./labeling";
import { projectsPage } from "./projects";
import type { AppSettings } from "./types";

function settings(): AppSettings | null {
  const holder = document.getElementById("tessera-settings");
  return holder?.textContent ? (JSON.parse(holder.textContent) as AppSettings) : null;
}

const appSettings = settings();
const root = document.getElementById("app");
if (appSettings && root) {
  if (appSettings.page === "label") void new LabelingPage(root, appSettings).start();
  else void projectsPage(root, document.getElementById("org-switcher"));
}
