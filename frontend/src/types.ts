// Shapes of the REST API (Label Studio's) as this app reads them.

export interface Region {
  id?: string;
  from_name: string;
  to_name: string;
  type: string;
  value: Record<string, unknown>;
  original_width?: number;
  original_height?: number;
  image_rotation?: number;
  [key: string]: unknown;
}

export interface Prediction {
  id: number;
  model_version: string;
  score: number | null;
  result: Region[];
}

export interface Draft {
  id: number;
  task: number;
  annotation: number | null;
  result: Region[];
  lead_time: number | null;
}

export interface Annotation {
  id: number;
  task: number;
  completed_by: number | null;
  result: Region[];
  was_cancelled: boolean;
  skip_reason?: string;
  lead_time: number | null;
  parent_prediction: number | null;
  created_at: string;
  updated_at: string;
}

export interface Task {
  id: number;
  project: number;
  inner_id: number;
  data: Record<string, unknown>;
  predictions?: Prediction[];
  drafts?: Draft[];
  /** Set by /next when a reviewer rejected the caller's annotation of this task. */
  rejection?: import("./rejection_notice").Rejection | null;
}

export interface ProjectProgress {
  id: number;
  title: string;
  description: string;
  role: string;
  total_tasks: number;
  tasks_labeled: number;
  tasks_left_for_me: number;
  done_today: number;
  skipped_today: number;
  overlap: number;
}

export interface LabelingProject extends ProjectProgress {
  label_config: string;
  expert_instruction: string;
  show_instruction: boolean;
  show_skip_button: boolean;
  enable_empty_annotation: boolean;
  lock_seconds: number;
}

export interface Organization {
  id: number;
  title: string;
  role: string;
  active: boolean;
}

export interface AppSettings {
  /** "label" is the labeling page; every other page is a route of frontend/src/router.ts. */
  page: "projects" | "label" | "project" | "new-project" | "members" | "account";
  project: number | null;
  /** The project's tab, for page "project". */
  tab: string | null;
  user: { id: number; email: string };
  /** The caller's role in the active organization, null without one. */
  role: Role | null;
  organization: { id: number; title: string } | null;
  imageOrigins: string[];
  /** What the import page checks files against before it uploads them (the server's settings). */
  importLimits: { maxUploadBytes: number; syncImportMaxBytes: number; maxTasksPerImport: number };
}

/** `GET /api/projects/{id}/`, Label Studio's project shape as the manager's pages read it. */
export interface ProjectDetail {
  id: number;
  title: string;
  description: string;
  label_config: string;
  data_variables: string[];
  expert_instruction: string;
  show_instruction: boolean;
  show_skip_button: boolean;
  enable_empty_annotation: boolean;
  maximum_annotations: number;
  sampling: string;
  color: string;
  organization: number;
  created_at: string | null;
  updated_at: string | null;
  task_number: number;
  num_tasks_with_annotations: number;
  [key: string]: unknown;
}

export type Role = "owner" | "admin" | "manager" | "reviewer" | "annotator";

const ROLE_RANK: Record<Role, number> = { annotator: 1, reviewer: 2, manager: 3, admin: 4, owner: 5 };

/** Whether a role is at least another (owner > admin > manager > reviewer > annotator). */
export function roleAtLeast(role: string | null | undefined, minimum: Role): boolean {
  return role ? (ROLE_RANK[role as Role] ?? 0) >= ROLE_RANK[minimum] : false;
}
