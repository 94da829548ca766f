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
  page: "projects" | "label";
  project: number | null;
  user: { id: number; email: string };
  imageOrigins: string[];
}
