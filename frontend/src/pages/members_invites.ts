// The lower half of the Members page: "Add existing user" (admins and owners) and "Invite" (managers and
// above, for roles up to their own), the link of a new invitation (shown once: only its digest is stored),
// and the pending invitations with revoke (managers and above, for roles up to their own).

import { api, ApiError } from "../api";
import { el, replaceChildren } from "../dom";
import { catalogue, formatDateTime, formatNumber } from "../locale";
import { roleAtLeast, type Role } from "../types";
import { confirmAction } from "./confirm";
import { displayName, grantableRoles, refusal, roleName, type UserSimple } from "./member_roles";

interface Invitation {
  id: number;
  email: string;
  role: Role;
  state: string;
  created_at: string;
  expires_at: string;
  invited_by: UserSimple | null;
}

interface InvitationCreated extends Invitation {
  url: string;
  email_sent: boolean;
}

interface MemberAdded {
  user: UserSimple;
  role: Role;
}

const t = catalogue(
  {
    addTitle: "Add existing user",
    addHint: "Someone who already has a Tessera account.",
    inviteTitle: "Invite",
    inviteHint: "Someone new: they make their account from the link.",
    email: "E-mail",
    role: "Role",
    add: "Add",
    sendEmail: "Send the link by e-mail",
    createInvite: "Create invitation",
    added: "{who} is now an active member, as {role}.",
    inviteCreated: "Invitation for {email} created",
    linkHelp: "Copy this link and give it to them. It works once, until {expires}. It is shown only now and cannot be shown again.",
    emailSent: "The link was also sent to {email}.",
    emailNotSent: "The e-mail could not be sent: give them the link yourself.",
    link: "Accept link",
    copy: "Copy link",
    copied: "Copied.",
    copyFailed: "Could not copy: select the link and copy it.",
    done: "Done",
    pendingTitle: "Pending invitations",
    invitedBy: "Invited by",
    expires: "Expires",
    actions: "Actions",
    revoke: "Revoke",
    revokeTitle: "Revoke the invitation for {email}?",
    revokeMessage: "Its link stops working at once. You can invite them again later.",
    cancel: "Cancel",
    revoked: "The invitation for {email} is revoked.",
    noPending: "No pending invitations.",
    loadFailed: "The invitations could not be loaded: {reason}",
    retry: "Try again",
    more: "The {shown} newest of {count} pending invitations are shown.",
    busy: "Working…",
  },
  {
    addTitle: "既存のユーザーを追加",
    addHint: "すでに Tessera のアカウントを持っている人。",
    inviteTitle: "招待",
    inviteHint: "新しい人: リンクからアカウントを作成します。",
    email: "メールアドレス",
    role: "ロール",
    add: "追加",
    sendEmail: "リンクをメールで送信する",
    createInvite: "招待を作成",
    added: "{who} を {role} として有効なメンバーにしました。",
    inviteCreated: "{email} への招待を作成しました",
    linkHelp: "このリンクをコピーして本人に渡してください。{expires} まで 1 回だけ使えます。表示されるのは今だけで、再表示はできません。",
    emailSent: "リンクは {email} にもメールで送信しました。",
    emailNotSent: "メールを送信できませんでした。リンクを直接渡してください。",
    link: "承諾リンク",
    copy: "リンクをコピー",
    copied: "コピーしました。",
    copyFailed: "コピーできませんでした。リンクを選択してコピーしてください。",
    done: "閉じる",
    pendingTitle: "保留中の招待",
    invitedBy: "招待した人",
    expires: "有効期限",
    actions: "操作",
    revoke: "取り消す",
    revokeTitle: "{email} への招待を取り消しますか？",
    revokeMessage: "リンクはすぐに使えなくなります。後で改めて招待できます。",
    cancel: "キャンセル",
    revoked: "{email} への招待を取り消しました。",
    noPending: "保留中の招待はありません。",
    loadFailed: "招待を読み込めませんでした: {reason}",
    retry: "再試行",
    more: "保留中の招待 {count} 件のうち、新しい {shown} 件を表示しています。",
    busy: "処理中…",
  },
);

export interface InvitationsOptions {
  /** `/api/organizations/{id}` */
  base: string;
  own: Role | null;
  /** A member was added or reactivated: the members table reloads. */
  onMemberAdded(): void;
}

export function invitationsSection(options: InvitationsOptions): HTMLElement {
  const admin = roleAtLeast(options.own, "admin");
  const mayInvite = roleAtLeast(options.own, "manager");
  const pending = el("div", { className: "invites-list" });
  const linkPanel = el("div", { className: "invite-result", attrs: { hidden: "" } });
  const loadPending = async (): Promise<void> => {
    let answer: { count: number; results: Invitation[] };
    try {
      answer = await api<{ count: number; results: Invitation[] }>("GET", `${options.base}/invites/?page_size=100`);
    } catch (error) {
      replaceChildren(
        pending,
        el("p", { className: "notice error", attrs: { role: "alert" }, text: t("loadFailed", { reason: refusal(error) }) }),
        el("button", { attrs: { type: "button" }, text: t("retry"), on: { click: () => void loadPending() } }),
      );
      return;
    }
    drawPending(pending, answer.results, answer.count, options, mayInvite, loadPending);
  };
  void loadPending();
  return el(
    "div",
    { className: "members-manage" },
    mayInvite
      ? el(
          "div",
          { className: "members-forms" },
          admin ? addForm(options) : null,
          inviteForm(options, (created, emailAsked) => {
            showLink(linkPanel, created, emailAsked);
            void loadPending();
          }),
        )
      : null,
    linkPanel,
    el("section", { className: "invites-section", attrs: { "aria-labelledby": "pending-title" } }, el("h2", { attrs: { id: "pending-title", tabindex: "-1" }, text: t("pendingTitle") }), pending),
  );
}

interface FormParts {
  form: HTMLFormElement;
  email: HTMLInputElement;
  role: HTMLSelectElement;
  error: HTMLElement;
  status: HTMLElement;
  submit: HTMLButtonElement;
}

function memberForm(id: string, title: string, hint: string, submitLabel: string, own: Role | null, extra: HTMLElement | null): FormParts {
  const email = el("input", { attrs: { type: "email", id: `${id}-email`, name: "email", autocomplete: "off", required: "", maxlength: "254" } });
  const role = el("select", { attrs: { id: `${id}-role`, name: "role" } });
  for (const value of grantableRoles(own)) {
    const option = el("option", { attrs: { value }, text: roleName(value) });
    option.selected = value === "annotator";
    role.append(option);
  }
  const error = el("p", { className: "notice error form-error", attrs: { role: "alert" } });
  const status = el("p", { className: "notice", attrs: { role: "status" } });
  const submit = el("button", { className: "primary", attrs: { type: "submit" }, text: submitLabel });
  const form = el(
    "form",
    { className: "card member-form", attrs: { id, "aria-labelledby": `${id}-title`, novalidate: "" } },
    el("h2", { attrs: { id: `${id}-title` }, text: title }),
    el("p", { className: "hint", text: hint }),
    el("div", { className: "field" }, el("label", { attrs: { for: `${id}-email` }, text: t("email") }), email),
    el("div", { className: "field" }, el("label", { attrs: { for: `${id}-role` }, text: t("role") }), role),
    extra,
    error,
    status,
    el("div", { className: "actions" }, submit),
  );
  return { form, email, role, error, status, submit };
}

/** Run a form's request: the button is busy meanwhile, a refusal names its field next to the form. */
async function send(parts: FormParts, request: () => Promise<void>): Promise<void> {
  parts.error.textContent = "";
  parts.status.textContent = "";
  parts.email.removeAttribute("aria-invalid");
  parts.role.removeAttribute("aria-invalid");
  parts.submit.disabled = true;
  const label = parts.submit.textContent;
  parts.submit.textContent = t("busy");
  try {
    await request();
  } catch (error) {
    parts.error.textContent = refusal(error);
    const field = error instanceof ApiError ? error.field : null;
    const input = field === "role" ? parts.role : field === "email" || field === null ? parts.email : null;
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", parts.error.id || (parts.error.id = `${parts.form.id}-error`));
      input.focus();
    }
  } finally {
    parts.submit.disabled = false;
    parts.submit.textContent = label;
  }
}

function addForm(options: InvitationsOptions): HTMLFormElement {
  const parts = memberForm("add-member", t("addTitle"), t("addHint"), t("add"), options.own, null);
  parts.form.addEventListener("submit", (event) => {
    event.preventDefault();
    void send(parts, async () => {
      // 201: a new member; 200: a deactivated member made active again. Either way they are in now.
      const member = await api<MemberAdded>("POST", `${options.base}/memberships/`, { email: parts.email.value.trim(), role: parts.role.value });
      const who = displayName(member.user) || member.user.email;
      parts.status.textContent = t("added", { who, role: roleName(member.role) });
      parts.email.value = "";
      options.onMemberAdded();
    });
  });
  return parts.form;
}

function inviteForm(options: InvitationsOptions, created: (invitation: InvitationCreated, emailAsked: boolean) => void): HTMLFormElement {
  const sendEmail = el("input", { attrs: { type: "checkbox", id: "invite-send-email", name: "send_email" } });
  sendEmail.checked = true;
  const parts = memberForm(
    "invite-member",
    t("inviteTitle"),
    t("inviteHint"),
    t("createInvite"),
    options.own,
    el("label", { className: "check" }, sendEmail, el("span", { text: t("sendEmail") })),
  );
  parts.form.addEventListener("submit", (event) => {
    event.preventDefault();
    void send(parts, async () => {
      const invitation = await api<InvitationCreated>("POST", `${options.base}/invites/`, {
        email: parts.email.value.trim(),
        role: parts.role.value,
        send_email: sendEmail.checked,
      });
      parts.email.value = "";
      created(invitation, sendEmail.checked);
    });
  });
  return parts.form;
}

function showLink(panel: HTMLElement, invitation: InvitationCreated, asked: boolean): void {
  const link = el("input", { attrs: { type: "text", id: "invite-link", readonly: "", value: invitation.url, spellcheck: "false" } });
  const copied = el("span", { className: "copied", attrs: { role: "status" } });
  const copy = el("button", {
    className: "primary",
    attrs: { type: "button", "data-action": "copy-link" },
    text: t("copy"),
    on: {
      click: async () => {
        copied.textContent = (await copyText(link)) ? t("copied") : t("copyFailed");
      },
    },
  });
  const done = el("button", {
    attrs: { type: "button" },
    text: t("done"),
    on: {
      click: () => {
        replaceChildren(panel);
        panel.hidden = true;
        document.getElementById("invite-member-email")?.focus();
      },
    },
  });
  replaceChildren(
    panel,
    el("h2", { attrs: { id: "invite-result-title" }, text: t("inviteCreated", { email: invitation.email }) }),
    el("p", { text: t("linkHelp", { expires: formatDateTime(invitation.expires_at) }) }),
    asked ? el("p", { className: invitation.email_sent ? "hint" : "notice error", text: invitation.email_sent ? t("emailSent", { email: invitation.email }) : t("emailNotSent") }) : null,
    el("div", { className: "field" }, el("label", { attrs: { for: "invite-link" }, text: t("link") }), el("div", { className: "link-row" }, link, copy)),
    el("div", { className: "actions" }, copied, done),
  );
  panel.className = "card invite-result";
  panel.setAttribute("aria-labelledby", "invite-result-title");
  panel.hidden = false;
  link.focus();
  link.select();
}

async function copyText(input: HTMLInputElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(input.value);
    return true;
  } catch {
    // No clipboard permission (or an old browser): copy the selection the old way.
    input.focus();
    input.select();
    try {
      return document.execCommand("copy");
    } catch {
      return false;
    }
  }
}

function drawPending(
  holder: HTMLElement,
  rows: Invitation[],
  count: number,
  options: InvitationsOptions,
  mayRevoke: boolean,
  reload: () => Promise<void>,
): void {
  if (!rows.length) {
    replaceChildren(holder, el("p", { className: "empty", text: t("noPending") }));
    return;
  }
  const status = el("p", { className: "notice", attrs: { role: "status" } });
  const body = el(
    "tbody",
    {},
    ...rows.map((invitation) => {
      const inviter = invitation.invited_by ? displayName(invitation.invited_by) || invitation.invited_by.email : "";
      const revocable = mayRevoke && roleAtLeast(options.own, invitation.role);
      return el(
        "tr",
        { data: { invitation: invitation.id } },
        el("td", { data: { field: "email" }, className: "email", text: invitation.email }),
        el("td", { data: { field: "role" }, text: roleName(invitation.role) }),
        el("td", { data: { field: "invited-by" }, text: inviter }),
        el("td", { data: { field: "expires" }, text: formatDateTime(invitation.expires_at) }),
        mayRevoke
          ? el(
              "td",
              {},
              revocable
                ? el("button", {
                    attrs: { type: "button", "data-action": "revoke" },
                    text: t("revoke"),
                    on: {
                      click: async () => {
                        const done = await confirmAction({
                          title: t("revokeTitle", { email: invitation.email }),
                          message: t("revokeMessage"),
                          confirmLabel: t("revoke"),
                          cancelLabel: t("cancel"),
                          action: async () => {
                            try {
                              await api("DELETE", `${options.base}/invites/${invitation.id}/`);
                            } catch (error) {
                              throw new Error(refusal(error));
                            }
                          },
                        });
                        if (!done) return;
                        await reload();
                        const notice = holder.querySelector<HTMLElement>(".notice") ?? holder.appendChild(el("p", { className: "notice", attrs: { role: "status" } }));
                        notice.textContent = t("revoked", { email: invitation.email });
                        document.getElementById("pending-title")?.focus();
                      },
                    },
                  })
                : null,
            )
          : null,
      );
    }),
  );
  replaceChildren(
    holder,
    el(
      "div",
      { className: "table-wrap" },
      el(
        "table",
        { className: "data invites-table" },
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            el("th", { attrs: { scope: "col" }, text: t("email") }),
            el("th", { attrs: { scope: "col" }, text: t("role") }),
            el("th", { attrs: { scope: "col" }, text: t("invitedBy") }),
            el("th", { attrs: { scope: "col" }, text: t("expires") }),
            mayRevoke ? el("th", { attrs: { scope: "col" }, text: t("actions") }) : null,
          ),
        ),
        body,
      ),
    ),
    count > rows.length ? el("p", { className: "hint", text: t("more", { shown: formatNumber(rows.length), count: formatNumber(count) }) }) : null,
    status,
  );
}
