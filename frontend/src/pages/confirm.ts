// A confirmation in a modal <dialog>, for actions that cannot be undone (delete a project, revoke a
// token). The action runs from the dialog: a refusal is shown inside it and the dialog stays, so the
// person reads why without losing what they typed. Focus stays inside (Tab cycles), Esc cancels, and
// focus goes back to the button that opened it.

import "./confirm.css";
import { el } from "../dom";

export interface ConfirmOptions {
  title: string;
  message: string;
  confirmLabel: string;
  cancelLabel: string;
  /** When set, the confirm button stays disabled until this exact text is typed. */
  typed?: { expected: string; label: string };
  /** Runs on confirm; a thrown error's message is shown in the dialog. */
  action: () => Promise<void>;
}

const FOCUSABLE = "button:not([disabled]), input:not([disabled]), a[href], select, textarea, [tabindex]:not([tabindex='-1'])";

/** Resolves true once the action succeeded, false when the dialog was cancelled. */
export function confirmAction(options: ConfirmOptions): Promise<boolean> {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const error = el("p", { className: "notice error", attrs: { role: "alert" } });
  const confirm = el("button", { className: "danger", attrs: { type: "submit" }, text: options.confirmLabel });
  const cancel = el("button", { attrs: { type: "button" }, text: options.cancelLabel });
  const titleId = `confirm-title-${Math.random().toString(36).slice(2)}`;
  let input: HTMLInputElement | null = null;
  if (options.typed) {
    const expected = options.typed.expected;
    input = el("input", { attrs: { type: "text", autocomplete: "off", spellcheck: "false", "data-confirm": "typed" } });
    confirm.disabled = true;
    input.addEventListener("input", () => (confirm.disabled = input!.value !== expected));
  }
  const form = el(
    "form",
    { attrs: { method: "dialog" } },
    el("h2", { attrs: { id: titleId }, text: options.title }),
    el("p", { text: options.message }),
    options.typed && input ? el("label", { className: "field" }, el("span", { className: "label", text: options.typed.label }), input) : null,
    error,
    el("div", { className: "actions" }, confirm, cancel),
  );
  const dialog = el("dialog", { className: "confirm", attrs: { "aria-labelledby": titleId } }, form);
  document.body.append(dialog);

  return new Promise((resolve) => {
    let done = false;
    const finish = (result: boolean): void => {
      if (done) return;
      done = true;
      if (dialog.open) dialog.close();
      dialog.remove();
      opener?.focus();
      resolve(result);
    };
    cancel.addEventListener("click", () => finish(false));
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      if (!confirm.dataset.busy) finish(false);
    });
    dialog.addEventListener("keydown", (event) => {
      if (event.key !== "Tab") return;
      const items = [...dialog.querySelectorAll<HTMLElement>(FOCUSABLE)];
      if (!items.length) return;
      const first = items[0];
      const last = items[items.length - 1];
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (confirm.disabled) return;
      confirm.disabled = true;
      confirm.dataset.busy = "1";
      error.textContent = "";
      try {
        await options.action();
      } catch (failure) {
        error.textContent = (failure as Error).message;
        delete confirm.dataset.busy;
        confirm.disabled = input ? input.value !== options.typed?.expected : false;
        return;
      }
      finish(true);
    });
    dialog.showModal();
    (input ?? cancel).focus();
  });
}
