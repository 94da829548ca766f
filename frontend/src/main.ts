import "./theme.css";
import "./styles.css";
import { startChrome } from "./chrome";
import { LabelingPage } from "./labeling";
import { Router } from "./router";
import type { AppSettings } from "./types";

function settings(): AppSettings | null {
  const holder = document.getElementById("tessera-settings");
  return holder?.textContent ? (JSON.parse(holder.textContent) as AppSettings) : null;
}

startChrome();
const appSettings = settings();
const root = document.getElementById("app");
if (appSettings && root) {
  if (appSettings.page === "label") void new LabelingPage(root, appSettings).start();
  else new Router(root, appSettings).start();
}
