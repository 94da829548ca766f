// Shapes of the review, comment and quality endpoints (issue 9) as the review and dashboard pages read them.

import type { Annotation, Prediction, Region } from "../types";

export interface UserRef {
  id: number;
  email: string;
}

export type ReviewState = "submitted" | "accepted" | "rejected" | "fixed";
export type Verdict = "accept" | "reject" | "fix";

export interface ReviewedAnnotation extends Annotation {
  review_state?: ReviewState;
  ground_truth?: boolean;
}

export interface Consensus {
  result: Region[];
  tie: boolean;
  agreement: number | null;
}

export interface ReviewTask {
  id: number;
  inner_id: number;
  data: Record<string, unknown>;
  state?: string;
  is_gold?: boolean;
  annotations?: ReviewedAnnotation[];
  predictions?: Prediction[];
  consensus?: Consensus | null;
}

export interface Review {
  id: number;
  annotation: number;
  task: number;
  verdict: Verdict;
  comment: string;
  result: Region[] | null;
  reviewer: UserRef | null;
  created_at: string;
}

export interface ReviewItem {
  annotation: ReviewedAnnotation;
  task: ReviewTask;
  reviews: Review[];
  lock_expires_at: string | null;
}

export interface TaskComment {
  id: number;
  task: number;
  annotation: number | null;
  parent: number | null;
  author: UserRef | null;
  text: string;
  mentions: UserRef[];
  is_resolved: boolean;
  resolved_by: UserRef | null;
  resolved_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface Backlog {
  tasks_by_state: Record<string, number>;
  annotations_by_review_state: Record<string, number>;
  to_review: number;
}

export const TASK_STATES = ["unlabeled", "in_progress", "labeled", "in_review", "done"] as const;
export const REVIEW_STATES = ["submitted", "accepted", "rejected", "fixed"] as const;
