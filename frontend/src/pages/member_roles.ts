// What the Members pages share: role names in the page's language, the roles a caller may hand out,
// a person's display name, and the API's refusals (last owner, role above one's own…) as sentences.

import { ApiError } from "../api";
import { catalogue } from "../locale";
import type { Role } from "../types";
import { roleAtLeast } from "../types";

/** Highest first, as a role select lists them. */
export const ROLES: Role[] = ["owner", "admin", "manager", "reviewer", "annotator"];

export interface UserSimple {
  id: number;
  email: string;
  first_name: string;
  last_name: string;
}

const t = catalogue(
  {
    owner: "Owner",
    admin: "Admin",
    manager: "Manager",
    reviewer: "Reviewer",
    annotator: "Annotator",
    last_owner: "This is the organization's last owner. Make another member owner first.",
    role_above_own: "You may not grant a role above your own.",
    member_above_own: "You may not change a member whose role is above your own.",
    already_member: "This person is already a member.",
    unknown_user: "No account has this e-mail address. Send an invitation instead.",
    role_too_low: "Your role may not do this.",
    not_a_member: "This person is not an active member of the organization.",
    not_pending: "This invitation is no longer pending (used, revoked or expired).",
    network: "The server cannot be reached. Check your connection and try again.",
    fieldEmail: "E-mail",
    fieldRole: "Role",
    fieldUser: "Member",
    withField: "{field}: {message}",
    unknown: "Something went wrong. Try again.",
  },
  {
    owner: "オーナー",
    admin: "管理者",
    manager: "マネージャー",
    reviewer: "レビュアー",
    annotator: "アノテーター",
    last_owner: "組織の最後のオーナーです。先に別のメンバーをオーナーにしてください。",
    role_above_own: "自分より上のロールは付与できません。",
    member_above_own: "自分より上のロールのメンバーは変更できません。",
    already_member: "この人はすでにメンバーです。",
    unknown_user: "このメールアドレスのアカウントはありません。代わりに招待を送ってください。",
    role_too_low: "あなたのロールではこの操作はできません。",
    not_a_member: "この人は組織の有効なメンバーではありません。",
    not_pending: "この招待は保留中ではありません（使用済み、取り消し済み、または期限切れ）。",
    network: "サーバーに接続できません。接続を確認して、もう一度お試しください。",
    fieldEmail: "メールアドレス",
    fieldRole: "ロール",
    fieldUser: "メンバー",
    withField: "{field}: {message}",
    unknown: "問題が発生しました。もう一度お試しください。",
  },
);

export function roleName(role: string): string {
  return (ROLES as string[]).includes(role) ? t(role as Role) : role;
}

/** The roles a caller may grant: their own and those below it. */
export function grantableRoles(own: Role | null): Role[] {
  return own ? ROLES.filter((role) => roleAtLeast(own, role)) : [];
}

export function displayName(user: UserSimple): string {
  return [user.first_name, user.last_name].filter(Boolean).join(" ");
}

const KNOWN_CODES = new Set([
  "last_owner",
  "role_above_own",
  "member_above_own",
  "already_member",
  "unknown_user",
  "role_too_low",
  "not_a_member",
  "not_pending",
  "network",
]);
const FIELDS: Record<string, "fieldEmail" | "fieldRole" | "fieldUser"> = { email: "fieldEmail", role: "fieldRole", user: "fieldUser" };

/**
 * An API refusal as a sentence in the page's language: the refusals these pages expect by their code,
 * any other by the server's message (translated by the server too), with the field it names.
 */
export function refusal(error: unknown): string {
  if (!(error instanceof ApiError)) return error instanceof Error && error.message ? error.message : t("unknown");
  if (KNOWN_CODES.has(error.code)) return t(error.code as "last_owner");
  const message = error.message || t("unknown");
  const field = error.field ? (FIELDS[error.field] ? t(FIELDS[error.field]) : error.field) : null;
  return field && !message.toLowerCase().startsWith(error.field!.toLowerCase()) ? t("withField", { field, message }) : message;
}
